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
from sync.models import ChangeRecord, ProcessedOperation, Space
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
    # list they refer to), the locked spaces, the rows the operations name read under the locks (items,
    # lists), the op_ids already processed, the batch's savepoint and its release, the spaces the user sees
    # with their roles, the user's role in the list's space, the items read again once after the creates
    # wrote them (for the updates), the change records, the active webhook endpoints of those who see the
    # written spaces (webhooks.outbox: none here), the counter, the results.
    once = 18
    # Per item create: the insert (the list and the id's absence were read up front); per item update: the
    # update. Neither takes a savepoint of its own (one batch holds them all).
    create = 1
    update = 1
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


def _statements(queries: Any, verb: str) -> int:
    return sum(query["sql"].startswith(verb) for query in queries)


@pytest.mark.parametrize("bad", ["conflict", "not_found"])
def test_one_bad_operation_among_fifty_leaves_the_other_forty_nine_applied(user: Any, bad: str) -> None:
    """A batch runs its operations in one savepoint (sync.push._Run). A stale update that conflicts fails
    after it wrote (the merge check writes the batch's pending change records to read the log), so the batch
    rolls back and its operations run again one savepoint each; an update of an id that does not exist is
    refused before it writes anything, and the batch goes on. Either way the 49 others apply exactly once,
    the bad one gets its error and changes nothing, and the numbers stay gapless."""
    lst = make_list(user=user)
    stale_id = uuid.uuid4()
    sync_push.run_operations(user, [op("create", "item", stale_id, list=str(lst.pk), title="first")], {})
    sync_push.run_operations(user, [op("update", "item", stale_id, 1, title="edited elsewhere")], {})
    head, records = _head(user), ChangeRecord.objects.filter(space__user=user).count()
    ids = [uuid.uuid4() for _ in range(25)]
    operations = [op("create", "item", i, list=str(lst.pk), title="new") for i in ids] + [
        op("update", "item", i, 1, title="edited") for i in ids[:24]
    ]
    bad_operation = (
        op("update", "item", stale_id, 1, title="stale edit")
        if bad == "conflict"
        else op("update", "item", uuid.uuid4(), 1, title="no such item")
    )
    operations.insert(30, bad_operation)

    with CaptureQueriesContext(connection) as queries:
        results = sync_push.run_operations(user, operations, {})

    statuses = [r["status"] for r in results]
    refused = "conflict" if bad == "conflict" else "invalid"
    assert statuses == ["applied"] * 30 + [refused] + ["applied"] * 19
    if bad == "conflict":
        assert results[30]["error"]["conflicting_fields"] == ["title"]
        # The push's own savepoint, the first batch's, one for each of operations 0 to 30 run again one at
        # a time, the batch after the conflict.
        assert _statements(queries, "SAVEPOINT") == 1 + 1 + 31 + 1
    else:
        assert results[30]["error"]["code"] == "not_found"
        assert _statements(queries, "SAVEPOINT") == 1 + 1  # no rollback: one batch for all 50
    stale = Item.objects.get(pk=stale_id)
    assert (stale.version, stale.title) == (2, "edited elsewhere")
    items = {item.pk: item for item in Item.objects.filter(pk__in=ids)}
    assert sorted((items[i].version, items[i].title) for i in ids) == [(1, "new")] + [(2, "edited")] * 24
    # 25 creates and 24 updates, each recorded once, numbered on from the head without a gap.
    assert _head(user) == head + 49
    assert ChangeRecord.objects.filter(space__user=user).count() == records + 49
    assert _numbers(user)[-49:] == list(range(head + 1, head + 50))
    stored = dict(
        ProcessedOperation.objects.filter(op_id__in=[o["op_id"] for o in operations]).values_list(
            "op_id", "result"
        )
    )
    assert [stored[uuid.UUID(o["op_id"])] for o in operations] == results


def test_a_replay_inside_a_batch_that_rolls_back_answers_the_first_result_once(user: Any) -> None:
    """An op_id sent twice in one push answers the first result; when the batch holding both rolls back and
    runs again, the result is still stored once (a second row would break the push's insert)."""
    lst = make_list(user=user)
    stale_id = uuid.uuid4()
    sync_push.run_operations(user, [op("create", "item", stale_id, list=str(lst.pk), title="first")], {})
    sync_push.run_operations(user, [op("update", "item", stale_id, 1, title="edited elsewhere")], {})
    create = op("create", "item", uuid.uuid4(), list=str(lst.pk), title="new")
    operations = [create, create, op("update", "item", stale_id, 1, title="stale edit")]

    results = sync_push.run_operations(user, operations, {})

    assert [r["status"] for r in results] == ["applied", "applied", "conflict"]
    assert results[0] == results[1]
    assert ProcessedOperation.objects.filter(op_id=create["op_id"]).count() == 1
    assert Item.objects.filter(pk=create["id"]).count() == 1


def test_an_operation_that_marks_the_transaction_for_rollback_makes_its_batch_run_one_by_one(
    user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Code that catches a failure inside an atomic block without a savepoint leaves the transaction marked
    for rollback, and the batch's savepoint would then roll back, without an exception, when it ends: every
    operation of the batch answered as applied would be lost. The batch must notice and run again one
    savepoint per operation (here the mark is made inside the batch only, so the run again is clean)."""
    from django.db import transaction

    lst = make_list(user=user)
    operations = _creates_and_updates(lst.pk, 5)
    # The last: a query after the mark would fail (and the batch run again anyway); the batch's end does
    # not.
    marked = operations[-1]["op_id"]
    in_batch = sync_push._execute_in_batch

    def marking(user: Any, operation: Any) -> dict[str, Any]:
        answer = in_batch(user, operation)
        if str(operation.op_id) == marked:
            transaction.set_rollback(True)
        return answer

    monkeypatch.setattr(sync_push, "_execute_in_batch", marking)
    head = _head(user)
    results = sync_push.run_operations(user, operations, {})

    assert [r["status"] for r in results] == ["applied"] * 10
    assert sorted(Item.objects.filter(list=lst).values_list("version", "title")) == [(2, "edited")] * 5
    assert _head(user) == head + 10
    assert _numbers(user)[-10:] == list(range(head + 1, head + 11))
