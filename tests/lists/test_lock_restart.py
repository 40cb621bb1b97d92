"""On PostgreSQL: a write that finds its entity moved to a lower space after it locked the higher one does not
wait for the lower one while holding the higher (which deadlocks with a writer holding the lower and waiting
for the higher); it starts over and takes both in order (sync.services.restartable, HeldSpaces.lock).

The interleaving is made with real locks: the test holds the item's space's counter while the write peeks and
waits for it, moves the item meanwhile to a lower space, and a second transaction holds that space's
counter and then asks for the higher one's, as another member's push to both would.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, transaction

from core.versioning import BaseVersion
from lists.models import Item, List
from lists.services import item_delete, item_update
from sync.models import Space
from tests.conftest import RACES, client_for
from tests.factories import ItemFactory, ListFactory, WorkspaceFactory
from tests.lists.conftest import Shared
from tests.sync.helpers import op, push

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), RACES]


def _lock_waiters() -> int:
    """Backends of this database waiting for a lock now (read fresh: a transaction caches the view)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock'"
        )
        return int(cursor.fetchone()[0])


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.02)


def _in_thread(errors: list[BaseException], body: Callable[[], object]) -> threading.Thread:
    def run() -> None:
        try:
            body()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _move_under_a_writer_that_waited(item: Item, to_list: List, write: Callable[[], None]) -> None:
    """Runs `write` (of `item`) while the item moves from its space to `to_list`'s, a lower one, between
    the write's first look and its lock, and another transaction holds the lower space and then asks for
    the higher."""
    high, low = item.space_id, to_list.space_id
    assert low < high
    errors: list[BaseException] = []
    other: dict[str, Any] = {}
    holding_low, ask_for_high = threading.Event(), threading.Event()

    def other_writer() -> None:
        with transaction.atomic():
            Space.objects.select_for_update().get(pk=low)
            holding_low.set()
            ask_for_high.wait(10)
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL lock_timeout = '5s'")
            Space.objects.select_for_update().get(pk=high)
            other["got_high"] = True

    with transaction.atomic():
        Space.objects.select_for_update().get(pk=high)
        writer = _in_thread(errors, write)
        _until(lambda: _lock_waiters() == 1, "the write waits for the higher space's counter")
        # Moved meanwhile and committed (by a write the test stands in for): the write's peek is out of date.
        moved = Item.objects.filter(pk=item.pk)
        _in_thread(errors, lambda: moved.update(space_id=low, list_id=to_list.pk)).join(10)
        holder = _in_thread(errors, other_writer)
        assert holding_low.wait(10)
    time.sleep(0.3)  # the write gets the higher space's counter and meets the item in the lower space
    _until(lambda: _lock_waiters() >= 1 or bool(errors), "the write waits for the lower space's counter")
    ask_for_high.set()
    holder.join(15)
    writer.join(15)
    assert not errors, errors  # before: one of the two ended as a deadlock (SQLSTATE 40P01)
    assert other == {"got_high": True}


def test_a_delete_that_finds_its_item_moved_lower_starts_over_instead_of_deadlocking(shared: Shared) -> None:
    owner = shared.team.users["owner"]

    def delete() -> None:
        item_delete(user=owner, item_id=shared.item.pk, base=BaseVersion(version=1))

    _move_under_a_writer_that_waited(shared.item, ListFactory.create(user=owner, name="Mine"), delete)
    assert not Item.objects.filter(pk=shared.item.pk).exists()


def test_a_move_that_finds_its_item_moved_lower_starts_over_instead_of_deadlocking(shared: Shared) -> None:
    owner = shared.team.users["owner"]
    back = List.objects.get(pk=shared.list.pk)

    def move_back() -> None:
        item_update(user=owner, item_id=shared.item.pk, base=BaseVersion(version=1), data={"list": back.pk})

    _move_under_a_writer_that_waited(shared.item, ListFactory.create(user=owner, name="Mine"), move_back)
    item = Item.objects.get(pk=shared.item.pk)
    assert (item.list_id, item.space_id) == (back.pk, shared.space_id)


def test_a_push_that_finds_its_item_moved_lower_starts_over_instead_of_deadlocking(shared: Shared) -> None:
    """A push locks its user's personal space first, so the item starts in a newer workspace and moves to
    the older one, both the owner's."""
    owner = shared.team.users["owner"]
    newer = WorkspaceFactory.create(user=owner)
    item = ItemFactory.create(list=ListFactory.create(user=owner, workspace=newer.pk), user=owner)
    answers: list[Any] = []

    def push_delete() -> None:
        answers.append(push(client_for(owner), [op("delete", "item", item.pk, 1)]).json()["results"])

    _move_under_a_writer_that_waited(item, shared.list, push_delete)
    assert [result["status"] for result in answers[0]] == ["applied"]
    assert not Item.objects.filter(pk=item.pk).exists()
