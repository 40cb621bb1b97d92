"""A push is one transaction holding its space locks once, with a savepoint per operation: what that
must not change (each operation atomic on its own, change numbers gapless and in order, the change log
complete for whoever reads it inside the push) and what it buys (a fixed number of queries per operation).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from lists.models import Item, List
from sync import push as sync_push
from sync.models import ChangeRecord, Space
from sync.services import change_writer, held_spaces, write_held_records
from sync.spaces import personal_space_id
from tests.sync.helpers import make_list, op, push

pytestmark = pytest.mark.django_db


def _results(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


def _numbers(user: Any) -> list[int]:
    return list(
        ChangeRecord.objects.filter(space__user=user).order_by("number").values_list("number", flat=True)
    )


def _head(user: Any) -> int:
    return int(Space.objects.get(user=user).last_change_number)


def _creates_and_updates(list_id: Any, pairs: int) -> list[dict[str, Any]]:
    ids = [uuid.uuid4() for _ in range(pairs)]
    return [op("create", "item", i, list=str(list_id), title="new") for i in ids] + [
        op("update", "item", i, 1, title="edited") for i in ids
    ]


@pytest.mark.parametrize("pairs", [1, 5, 25])
def test_a_push_costs_a_fixed_number_of_queries_per_operation(user: Any, pairs: int) -> None:
    lst = make_list(user=user)
    operations = _creates_and_updates(lst.pk, pairs)

    with CaptureQueriesContext(connection) as queries:
        results = sync_push.run_operations(user, operations, {})

    assert {r["status"] for r in results} == {"applied"}
    # Once per push: the transaction (a savepoint in this test's transaction) and its release, the
    # spaces the user sees and those of them its operations name (one query per type named: items, and the
    # list they refer to), the locked spaces, the op_ids already processed, the spaces the user sees with
    # their roles, the user's role in the list's space, the change records, the active webhook endpoints of
    # those who see the written spaces (webhooks.outbox: none here), the counter, the results.
    once = 13
    # Per item create: the operation's savepoint (the service's write uses it, see HeldSyncLock.write),
    # the list it refers to, an existing item with its id, the insert, the release.
    create = 5
    # Per item update: the savepoint, the item, the update, the release.
    update = 4
    assert len(queries) == once + pairs * (create + update), [q["sql"][:80] for q in queries]


def test_change_numbers_stay_gapless_and_in_order_across_a_push(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    head = _head(user)
    item_id = uuid.uuid4()

    results = _results(
        push(
            user_client,
            [
                op("create", "item", item_id, list=str(lst.pk), title="one"),
                op("update", "item", uuid.uuid4(), 1, title="no such item"),
                op("create", "item", uuid.uuid4(), list=str(uuid.uuid4()), title="no such list"),
                op("update", "item", item_id, 1, title="two"),
                op("update", "item", item_id, 1, title="stale"),
            ],
        )
    )

    assert [r["status"] for r in results] == ["applied", "invalid", "invalid", "applied", "conflict"]
    assert _head(user) == head + 2
    assert _numbers(user)[-2:] == [head + 1, head + 2]
    assert Item.objects.get(pk=item_id).change_number == head + 2


def test_a_stale_update_merges_over_versions_written_earlier_in_the_same_push(
    user: Any, user_client: Any
) -> None:
    lst = make_list(user=user)
    item_id = uuid.uuid4()

    results = _results(
        push(
            user_client,
            [
                op("create", "item", item_id, list=str(lst.pk), title="one"),
                op("update", "item", item_id, 1, notes="from another device"),
                op("update", "item", item_id, 1, title="merged"),
                op("update", "item", item_id, 1, notes="conflicting"),
            ],
        )
    )

    assert [r["status"] for r in results] == ["applied", "applied", "merged", "conflict"]
    assert results[2]["entity"]["notes"] == "from another device"
    assert results[3]["error"]["conflicting_fields"] == ["notes"]


def test_deleting_twice_in_the_same_push_is_applied_both_times(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    item_id = uuid.uuid4()

    results = _results(
        push(
            user_client,
            [
                op("create", "item", item_id, list=str(lst.pk), title="short-lived"),
                op("delete", "item", item_id, 1),
                op("delete", "item", item_id, 1),
            ],
        )
    )

    assert [r["status"] for r in results] == ["applied", "applied", "applied"]
    assert ChangeRecord.objects.filter(entity_id=item_id, deleted=True).count() == 1


def _failing_operation(user: Any, held: Any, *, write: bool) -> None:
    """An operation that fails after its write (or after reading the change log) in its savepoint."""
    with held.atomic():
        if write:
            with change_writer(user) as writer:
                writer.save(List(name="rolled back"), ["name"], created=True)
        else:
            write_held_records()
        raise RuntimeError("the operation fails")


def test_a_write_that_fails_inside_a_held_lock_gives_its_numbers_back(user: Any) -> None:
    head = _head(user)

    with held_spaces() as held:
        with change_writer(user) as writer:
            writer.save(List(name="kept"), ["name"], created=True)
        with pytest.raises(RuntimeError):
            _failing_operation(user, held, write=True)
        with change_writer(user) as writer:
            writer.save(List(name="also kept"), ["name"], created=True)

    assert sorted(List.objects.filter(user=user).values_list("name", flat=True)) == ["also kept", "kept"]
    assert _numbers(user)[-2:] == [head + 1, head + 2]
    assert _head(user) == head + 2


def test_records_written_inside_a_savepoint_that_rolls_back_are_written_again(user: Any) -> None:
    head = _head(user)

    with held_spaces() as held:
        with change_writer(user) as writer:
            writer.save(List(name="kept"), ["name"], created=True)
        with pytest.raises(RuntimeError):
            _failing_operation(user, held, write=False)

    assert _numbers(user)[-1] == head + 1
    assert _head(user) == head + 1


def test_the_held_state_is_used_only_inside_its_block(user: Any, other_user: Any) -> None:
    with held_spaces() as held:
        with change_writer(user) as writer:
            writer.save(List(name="inside"), ["name"], created=True)
        assert personal_space_id(user) in held.states
        assert personal_space_id(other_user) not in held.states
    with held_spaces() as later:
        assert later is not held
        assert later.states == {}

    head = _head(user)
    with change_writer(user) as writer:
        writer.save(List(name="after the push"), ["name"], created=True)
    assert _head(user) == head + 1
    assert _numbers(user)[-1] == head + 1


def _failing_write(user: Any) -> None:
    with change_writer(user) as writer:
        writer.save(List(name="rolled back"), ["name"], created=True)
        raise RuntimeError("the write fails, and the service catches it")


def test_an_operation_goes_on_after_its_first_write_failed(user: Any) -> None:
    head = _head(user)

    with held_spaces() as held:
        with change_writer(user) as writer:
            writer.save(List(name="earlier operation"), ["name"], created=True)
        with held.atomic():
            write_held_records()  # a reader of the change log before the operation's first write
            with pytest.raises(RuntimeError):
                _failing_write(user)
            with change_writer(user) as writer:
                writer.save(List(name="tried again"), ["name"], created=True)

    names = sorted(List.objects.filter(user=user).values_list("name", flat=True))
    assert names == ["earlier operation", "tried again"]
    assert _numbers(user)[-2:] == [head + 1, head + 2]
    assert _head(user) == head + 2
