"""On PostgreSQL: a push whose write meets a race (another user's create of the same client-chosen id, which
no space lock serialises; a card of the same day committed just before the push took the space's lock)
answers a result for that operation, never a 500, and runs the operations after it."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import date
from typing import Any

import pytest
from django.db import connection

from focus.models import FocusCard
from lists.models import List
from sync.services import held_spaces, lock_spaces
from sync.spaces import personal_space
from tests.conftest import RACES, client_for
from tests.sync.helpers import op, push

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), RACES]


def _push_while_a_row_commits_late(user_client: Any, insert: Any, operations: list[dict[str, Any]]) -> Any:
    """Holds `insert` uncommitted in another connection while the push runs, so the push's existence check
    misses the row and its insert waits on it; commits once the push is waiting, and answers the push."""
    inserted, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def hold() -> None:
        try:
            with held_spaces():
                insert()
                inserted.set()
                release.wait(10)
        except BaseException as error:
            errors.append(error)
            inserted.set()
        finally:
            connection.close()

    answer: dict[str, Any] = {}

    def run_push() -> None:
        try:
            answer["response"] = push(user_client, operations)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    inserted.wait(10)
    pusher = threading.Thread(target=run_push)
    pusher.start()
    time.sleep(0.5)  # the push reaches the insert and waits on the held row
    release.set()
    holder.join(10)
    pusher.join(20)
    assert not errors, errors
    return answer["response"]


def test_another_users_concurrent_create_of_the_same_id_is_an_id_conflict_and_later_ops_run(
    user: Any, other_user: Any
) -> None:
    taken, later = uuid.uuid4(), uuid.uuid4()

    def insert() -> None:
        List.objects.create(
            id=taken, user=other_user, space=personal_space(other_user), name="theirs", change_number=1
        )

    response = _push_while_a_row_commits_late(
        client_for(user),
        insert,
        [op("create", "list", taken, name="mine"), op("create", "list", later, name="next")],
    )

    assert response.status_code == 200, response.content
    first, second = response.json()["results"]
    assert first["status"] == "invalid"
    assert first["error"]["code"] == "id_conflict"
    assert second["status"] == "applied"
    assert List.objects.get(pk=taken).user_id == other_user.pk
    assert List.objects.get(pk=later).user_id == user.pk


def test_a_card_of_the_same_day_committed_meanwhile_answers_by_the_focus_rules(user: Any) -> None:
    day = date(2026, 3, 1)
    theirs, mine, later = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()

    def insert() -> None:
        # A writer of the user's personal space takes its lock first, as every write does.
        lock_spaces(personal_space(user).pk)
        FocusCard.objects.create(id=theirs, user=user, space=personal_space(user), date=day, change_number=1)

    response = _push_while_a_row_commits_late(
        client_for(user),
        insert,
        [op("create", "focus_card", mine, date=str(day)), op("create", "list", later, name="next")],
    )

    assert response.status_code == 200, response.content
    first, second = response.json()["results"]
    # The focus service's rule for a date that already has a card with another id.
    assert first["status"] == "invalid"
    assert first["error"]["code"] == "id_conflict"
    assert second["status"] == "applied"
    assert list(FocusCard.objects.filter(user=user).values_list("pk", flat=True)) == [theirs]


def test_a_card_with_the_same_id_and_content_committed_meanwhile_is_applied(user: Any) -> None:
    day = date(2026, 3, 1)
    card_id = uuid.uuid4()

    def insert() -> None:
        lock_spaces(personal_space(user).pk)
        FocusCard.objects.create(id=card_id, user=user, space=personal_space(user), date=day, change_number=1)

    response = _push_while_a_row_commits_late(
        client_for(user), insert, [op("create", "focus_card", card_id, date=str(day))]
    )

    assert response.status_code == 200, response.content
    [result] = response.json()["results"]
    assert result["status"] == "applied", result
    assert result["entity"]["id"] == str(card_id)


def test_two_users_creating_the_same_ids_in_crossed_order_both_get_answers(
    user: Any, other_user: Any, monkeypatch: Any
) -> None:
    """Each push holds its first create uncommitted while it tries its second, which the other push holds:
    PostgreSQL ends one of the two writes as a deadlock. That push's batch rolls back and its operations run
    again one at a time (sync.push._Run): an id the other push took meanwhile is `id_conflict`. Both pushes
    answer every operation, and each answer is true: `applied` exactly where the list is that user's."""
    from sync import push as sync_push

    first_id, second_id = uuid.uuid4(), uuid.uuid4()
    both_created_one = threading.Barrier(2, timeout=10)
    waited = threading.local()

    def then_wait_for_the_other(execute: Any) -> Any:
        def run(*args: Any, **kwargs: Any) -> Any:
            result = execute(*args, **kwargs)
            if not getattr(waited, "done", False):
                waited.done = True
                both_created_one.wait()
            return result

        return run

    # The first operation runs in a batch (no failure yet); once a batch fails, they run one at a time.
    monkeypatch.setattr(sync_push, "_execute_in_batch", then_wait_for_the_other(sync_push._execute_in_batch))
    monkeypatch.setattr(sync_push, "_execute", then_wait_for_the_other(sync_push._execute))
    outcomes: dict[str, Any] = {}

    def run(name: str, who: Any, ids: list[uuid.UUID]) -> None:
        try:
            operations = [op("create", "list", entity_id, name=name) for entity_id in ids]
            outcomes[name] = sync_push.run_operations(who, operations, {})
        except BaseException as error:
            outcomes[name] = error
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=("a", user, [first_id, second_id])),
        threading.Thread(target=run, args=("b", other_user, [second_id, first_id])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    assert not [o for o in outcomes.values() if isinstance(o, BaseException)], outcomes
    refusals = 0
    for name, owner, ids in (("a", user, [first_id, second_id]), ("b", other_user, [second_id, first_id])):
        for entity_id, result in zip(ids, outcomes[name], strict=True):
            if List.objects.get(pk=entity_id).user_id == owner.pk:
                assert result["status"] == "applied", result
            else:
                assert result["status"] == "invalid", result
                assert result["error"]["code"] == "id_conflict"
                refusals += 1
    assert refusals >= 1  # the deadlock's loser
