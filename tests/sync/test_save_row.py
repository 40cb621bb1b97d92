"""`sync.saving.save_row` writes what `Model.save()` writes, in one statement, and leaves to `save()`
every case it does not cover (signal receivers, deferred fields, expressions, a row that is gone)."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

import pytest
from django.db import connection
from django.db.models import F, Model
from django.db.models.signals import pre_save
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Profile
from lists.models import Item, List
from sync.saving import save_row
from tests.factories import ItemFactory, ListFactory

pytestmark = pytest.mark.django_db


def _row(model: type[Model], pk: Any) -> dict[str, Any]:
    return model._default_manager.filter(pk=pk).values().get()


def _same_but(one: dict[str, Any], other: dict[str, Any], *names: str) -> None:
    assert {k: v for k, v in one.items() if k not in names} == {
        k: v for k, v in other.items() if k not in names
    }


def _edit(item: Item) -> None:
    item.title = 'a "quoted" title \\ ünïcödé'
    item.notes = "new\nline"
    item.priority = 2
    item.due_date = datetime.date(2027, 2, 28)
    item.due_time = datetime.time(9, 30)
    item.recurrence = "FREQ=MONTHLY;BYMONTHDAY=-1"
    item.version += 1


def test_an_update_writes_what_save_writes_in_one_statement(user):
    by_orm, ours = ItemFactory.create_batch(2, user=user, list=ListFactory.create(user=user))
    for item in (by_orm, ours):
        _edit(item)
    by_orm.save()
    with CaptureQueriesContext(connection) as queries:
        save_row(ours, insert=False)
    assert len(queries) == 1
    assert queries[0]["sql"].startswith(f'UPDATE "{Item._meta.db_table}" SET')
    orm_row, our_row = _row(Item, by_orm.pk), _row(Item, ours.pk)
    _same_but(orm_row, our_row, "id", "updated_at", "created_at", "position", "change_number")
    assert our_row["title"] == 'a "quoted" title \\ ünïcödé'
    assert our_row["updated_at"] > our_row["created_at"]  # auto_now, as save() sets it
    assert ours.updated_at == our_row["updated_at"]


def test_an_insert_writes_what_save_writes(user):
    a_list = ListFactory.create(user=user)

    def new() -> Item:
        item = Item(
            id=uuid.uuid4(),
            user=user,
            space_id=a_list.space_id,
            list=a_list,
            title="t",
            version=1,
            change_number=7,
        )
        _edit(item)
        return item

    by_orm, ours = new(), new()
    by_orm.save(force_insert=True)
    with CaptureQueriesContext(connection) as queries:
        save_row(ours, insert=True)
    assert len(queries) == 1
    assert queries[0]["sql"].startswith(f'INSERT INTO "{Item._meta.db_table}"')
    assert not ours._state.adding
    _same_but(_row(Item, by_orm.pk), _row(Item, ours.pk), "id", "updated_at", "created_at")
    assert ours.created_at is not None
    assert ours.created_at == _row(Item, ours.pk)["created_at"]


def test_json_values_are_stored_as_save_stores_them(user):
    profile = Profile.objects.get(user=user)
    preferences = {"week_start": "monday", "nested": ['"quoted"', None, 1.5, True], "empty": {}}
    profile.preferences = preferences
    profile.version += 1
    save_row(profile, insert=False)
    assert _row(Profile, profile.pk)["preferences"] == preferences


def test_a_model_with_a_receiver_is_saved_by_save_with_its_signals(user):
    item = ItemFactory.create(user=user, list=ListFactory.create(user=user))
    seen: list[Any] = []

    def receiver(sender: Any, instance: Any, **kwargs: Any) -> None:
        seen.append(instance.title)

    pre_save.connect(receiver, sender=Item, dispatch_uid="test_save_row")
    try:
        item.title = "heard"
        save_row(item, insert=False)
    finally:
        pre_save.disconnect(dispatch_uid="test_save_row", sender=Item)
    assert seen == ["heard"]
    assert _row(Item, item.pk)["title"] == "heard"


def test_deferred_fields_are_left_as_save_leaves_them(user):
    item = ItemFactory.create(user=user, list=ListFactory.create(user=user), notes="kept")
    partial = Item.objects.only("id", "title").get(pk=item.pk)
    partial.title = "renamed"
    with CaptureQueriesContext(connection) as queries:
        save_row(partial, insert=False)
    # save() updates the loaded fields only, without reading the deferred ones first.
    assert len(queries) == 1
    assert '"title"' in queries[0]["sql"]
    assert '"notes"' not in queries[0]["sql"]
    row = _row(Item, item.pk)
    assert (row["title"], row["notes"]) == ("renamed", "kept")


def test_an_expression_goes_through_save(user):
    a_list = ListFactory.create(user=user)
    a_list.version = F("version") + 10
    save_row(a_list, insert=False)
    assert _row(List, a_list.pk)["version"] == 11


def test_an_update_of_a_row_that_is_gone_inserts_it_as_save_does(user):
    item = ItemFactory.create(user=user, list=ListFactory.create(user=user))
    Item.objects.filter(pk=item.pk).delete()
    item.title = "back"
    item.updated_at = timezone.now()
    save_row(item, insert=False)
    assert _row(Item, item.pk)["title"] == "back"
