"""The migration that adds `assignee`, `created_by` and `completed_by` fills in the last two for the items
there were (all personal: the owner made them, and completed the done ones), and reverses cleanly."""

from __future__ import annotations

import pytest

from accounts.models import User
from lists.models import Item
from tests.conftest import migrate_to
from tests.factories import ItemFactory, ListFactory

BEFORE = [("lists", "0005_items_page_index_by_list")]
AFTER = [("lists", "0007_backfill_item_people")]


@pytest.mark.django_db(transaction=True)
def test_the_backfill_names_the_owner_as_creator_and_completer_of_done_items(user: User) -> None:
    a_list = ListFactory.create(user=user)
    open_item = ItemFactory.create(list=a_list)
    done_item = ItemFactory.create(list=a_list, status="done")
    try:
        migrate_to(BEFORE)
        migrate_to(AFTER)
        rows = dict(Item.objects.values_list("pk", "created_by_id"))
        completers = dict(Item.objects.values_list("pk", "completed_by_id"))
        assert rows == {open_item.pk: user.pk, done_item.pk: user.pk}
        assert completers == {open_item.pk: None, done_item.pk: user.pk}
        assert set(Item.objects.values_list("assignee_id", flat=True)) == {None}
    finally:
        migrate_to()
