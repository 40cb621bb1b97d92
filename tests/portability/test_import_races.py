"""Concurrent imports of one user run one after the other (PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.models import User
from lists.models import Item, List
from tests.concurrency import at_once
from tests.conftest import client_for
from tests.factories import ItemFactory, ListFactory
from tests.portability.helpers import exported

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_two_concurrent_replace_imports_both_succeed_and_leave_the_document(user: User) -> None:
    for name in ("Home", "Work", "Errands"):
        ItemFactory.create_batch(20, list=ListFactory.create(user=user, name=name))
    document = exported(client_for(user))

    def replace(n: int) -> Any:
        return client_for(user).post("/api/v1/user/import", {"document": document, "mode": "replace"})

    responses = at_once(2, replace)

    assert [r.status_code for r in responses] == [200, 200], [r.content for r in responses]
    assert List.objects.filter(user=user).count() == 3
    assert Item.objects.filter(user=user).count() == 60
