"""The feed reads each type's data straight from the database (SyncType.feed_columns, sync.columns); it
must be exactly what the type's `to_data` gives from a model instance, for every registered type and every
kind of value (nulls, unicode, zero microseconds, ordering of a card's items), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from antitodo.models import AntiTodoEntry
from core.versioning import BaseVersion
from focus.models import FocusCard
from lists.models import Item, List
from lists.services import list_update
from reminders.services import notification_create, notification_mark
from sync import feed, registry
from tests.factories import (
    AntiTodoEntryFactory,
    FocusCardFactory,
    ItemFactory,
    ListFactory,
    MemberFactory,
    ReminderFactory,
    WorkspaceFactory,
)
from workspaces.services import invitation_create

pytestmark = pytest.mark.django_db

AWKWARD = 'ünïcode ✓ 🎉 "quoted" \\ back\tslash\nnew\u2028line\x01'


def _edge_values(user: Any) -> None:
    plain = ListFactory.create(user=user)
    awkward = ListFactory.create(user=user, name=AWKWARD, color="#A1b2C3", position=-(2**31))
    list_update(user=user, list_id=awkward.pk, base=BaseVersion(1), data={"archived": True})
    first = ItemFactory.create(list=plain)
    done = ItemFactory.create(
        list=awkward,
        title=AWKWARD,
        notes=AWKWARD,
        status="done",
        completed_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC),
        priority=1,
        due_date=date(1999, 12, 31),
        due_time=time(23, 59),
        position=2**31 - 1,
    )
    whole_second = ItemFactory.create(
        list=plain,
        status="done",
        completed_at=datetime(2026, 3, 1, tzinfo=UTC),
        due_date=date(2026, 2, 28),
        due_time=time(0, 0),
    )
    ItemFactory.create(
        list=plain,
        due_date=date(2027, 1, 31),
        recurrence={"rule": "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "mode": "after_completion"},
    )
    # Timestamps with no fraction at all (SQLite then stores no fraction either).
    Item.objects.filter(pk=whole_second.pk).update(created_at=datetime(2025, 6, 1, 12, 0, tzinfo=UTC))
    List.objects.filter(pk=plain.pk).update(updated_at=datetime(2025, 6, 1, 12, 0, 0, 1, tzinfo=UTC))
    FocusCardFactory.create(user=user, items=[whole_second, done, first], intention=AWKWARD)
    FocusCardFactory.create(user=user, items=[])
    AntiTodoEntryFactory.create(user=user, date=date(2026, 1, 1), note=AWKWARD, item=done)
    AntiTodoEntryFactory.create(user=user, date=date(2026, 1, 2))
    workspace = WorkspaceFactory.create(user=user, name=AWKWARD)
    MemberFactory.create(workspace=workspace, role="viewer", user__display_name=AWKWARD)
    elsewhere = WorkspaceFactory.create(name=AWKWARD)
    invitation_create(user=elsewhere.user, workspace_id=elsewhere.pk, email=user.email, role="admin")
    ReminderFactory.create(item=done, user=user, remind_at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    ReminderFactory.create(item=first, user=user, remind_at=datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=UTC))
    notification_create(user=user, kind="reminder", data={"title": AWKWARD, "n": 1, "nested": {"a": [None]}})
    read = notification_create(user=user, kind="assigned", data={})
    notification_mark(user=user, notification_id=read.pk, read=True)


def _instance(sync_type: registry.SyncType, entity_id: str) -> Any:
    queryset = sync_type.model._base_manager.all()
    if sync_type.feed_queryset is not None:
        queryset = sync_type.feed_queryset(queryset)
    return queryset.get(pk=entity_id)


def test_the_feed_data_of_every_type_equals_its_to_data(user: Any) -> None:
    _edge_values(user)
    expected_types = {sync_type.name for sync_type in registry.all_types()}
    assert {"profile", "list", "item", "focus_card", "anti_todo"} <= expected_types

    changes = feed.changes_since(user, feed.parse_cursor(None), feed.MAX_LIMIT)["changes"]

    assert {change["type"] for change in changes} == expected_types  # every type is covered
    for change in changes:
        sync_type = registry.require(change["type"])
        entity = _instance(sync_type, change["id"])
        assert change["id"] == str(entity.pk)
        assert change["version"] == entity.version
        assert change["data"] == sync_type.to_data(entity), change["type"]
        # The same JSON types too (a bool is not 0, a string is not a UUID or a date).
        expected = sync_type.to_data(entity)
        assert [type(value) for value in change["data"].values()] == [type(v) for v in expected.values()]
        assert list(change["data"]) == list(expected)  # and the same key order


def test_the_types_with_many_rows_read_columns(user: Any) -> None:
    """Items, lists, focus cards and anti-todo entries are the bulk of a full sync: they must take the fast
    path (the profile, one row a user, may keep its model instance)."""
    for model in (List, Item, FocusCard, AntiTodoEntry):
        sync_type = registry.require(model.sync_type)
        assert sync_type.feed_columns is not None, sync_type.name


def test_a_cards_items_come_in_their_order(user: Any) -> None:
    a_list = ListFactory.create(user=user)
    first, second, third = (ItemFactory.create(list=a_list) for _ in range(3))
    card = FocusCardFactory.create(user=user, items=[third, first, second])

    changes = feed.changes_since(user, feed.parse_cursor(None), feed.MAX_LIMIT)["changes"]

    data = next(c["data"] for c in changes if c["type"] == "focus_card")
    assert data["items"] == [str(third.pk), str(first.pk), str(second.pk)]
    assert data == registry.require("focus_card").to_data(card)
