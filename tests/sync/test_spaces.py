"""The feed over spaces: the opaque cursor, workspace tombstones, spaces sent whole, pruning per space, and a
query count that does not grow with the number of spaces a user sees (docs/api/sync.md, "Spaces")."""

from __future__ import annotations

import base64
import uuid
from typing import Any

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.versioning import BaseVersion
from lists.models import List
from lists.services import item_delete, item_update
from sync import cursors
from sync.cursors import MAX_LENGTH, encode_cursor
from sync.models import ProcessedOperation, Space
from sync.spaces import create_workspace_space, personal_space_id
from tests.sync.helpers import SYNC_URL, make_item, make_list, op, position, pull, pull_all, push

pytestmark = pytest.mark.django_db


def _head(user: Any) -> int:
    return Space.objects.get(user=user).last_change_number


def _flip(text: str, index: int) -> str:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    current = text[index]
    return text[:index] + alphabet[(alphabet.index(current) + 1) % len(alphabet)] + text[index + 1 :]


def _refused(response: Any) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error"
    assert "cursor" in body["errors"]


# --- the opaque cursor ------------------------------------------------------------------------------------


def test_a_cursor_is_an_opaque_versioned_string(user: Any, user_client: Any) -> None:
    make_list(user=user)

    cursor = pull(user_client)["cursor"]

    assert isinstance(cursor, str)
    assert cursor.startswith("c2.")
    assert len(cursor) <= MAX_LENGTH
    assert position(user, cursor) == _head(user)


def _bad_cursors(user: Any, other_user: Any, good: str) -> dict[str, str]:
    body = good[3:]
    others = encode_cursor(other_user, {personal_space_id(other_user): 1})
    return {
        "tampered in the positions": good[:3] + _flip(body, 0) + body[1:],
        "tampered in the MAC": good[:-1] + _flip(good, len(good) - 1)[-1],
        "truncated by one": good[:-1],
        "truncated to the prefix": "c1.",
        "truncated to half": good[: len(good) // 2],
        "another user's": others,
        "another user's positions under this prefix": "c1." + others[3:],
        "an unknown version": "c3." + body,
        "another version's prefix": "c1." + body,
        "padded": good + "==",
        "garbage": "not a cursor",
        "garbage base64": "c1." + base64.urlsafe_b64encode(b"0123456789abcdef").decode().rstrip("="),
        "non-ascii": "c1.é" + body,
        "a negative integer": "-3",
        "a decimal": "1.5",
        "whitespace": f" {good}",
        "too long": "c1." + "A" * (MAX_LENGTH - 2),
    }


@pytest.mark.parametrize(
    "case",
    [
        "tampered in the positions",
        "tampered in the MAC",
        "truncated by one",
        "truncated to the prefix",
        "truncated to half",
        "another user's",
        "another user's positions under this prefix",
        "an unknown version",
        "another version's prefix",
        "padded",
        "garbage",
        "garbage base64",
        "non-ascii",
        "a negative integer",
        "a decimal",
        "whitespace",
        "too long",
    ],
)
def test_a_cursor_the_server_did_not_issue_to_this_user_is_a_400_on_a_pull(
    user: Any, other_user: Any, user_client: Any, case: str
) -> None:
    make_list(user=user)
    make_list(user=other_user)
    good = pull(user_client)["cursor"]
    bad = _bad_cursors(user, other_user, good)[case]
    assert bad != good

    _refused(user_client.get(SYNC_URL, {"cursor": bad}))


@pytest.mark.parametrize("case", ["tampered in the MAC", "another user's", "garbage", "too long"])
def test_a_push_with_a_bad_cursor_is_a_400_and_runs_nothing(
    user: Any, other_user: Any, user_client: Any, case: str
) -> None:
    make_list(user=user)
    good = pull(user_client)["cursor"]
    bad = _bad_cursors(user, other_user, good)[case]
    head = _head(user)
    lists = List.objects.count()

    response = push(user_client, [op("create", "list", uuid.uuid4(), name="never made")], cursor=bad)

    _refused(response)
    assert _head(user) == head
    assert List.objects.count() == lists
    assert not ProcessedOperation.objects.filter(user=user).exists()


@pytest.mark.parametrize("bad", [True, 1.5, -1, 10**18, [], {}, "c1." + "A" * MAX_LENGTH])
def test_a_pushed_cursor_of_the_wrong_json_type_or_range_is_a_400(
    user: Any, user_client: Any, bad: Any
) -> None:
    response = push(user_client, [op("create", "list", uuid.uuid4(), name="never made")], cursor=bad)

    _refused(response)
    assert not List.objects.filter(user=user).exists()


def test_an_api_1_0_integer_cursor_still_works_for_the_personal_space(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    kept, gone = make_item(list=lst), make_item(list=lst)
    old = _head(user)

    item_update(user=user, item_id=kept.pk, base=BaseVersion(1), data={"title": "new"})
    item_delete(user=user, item_id=gone.pk, base=BaseVersion(1))
    for cursor in (old, str(old)):
        answer = pull(user_client, cursor)

        assert [(c["type"], c["id"], c["deleted"]) for c in answer["changes"]] == [
            ("item", str(kept.pk), False),
            ("item", str(gone.pk), True),
        ]
        assert answer["cursor"].startswith("c2.")
        assert position(user, answer["cursor"]) == _head(user)
    pushed = push(user_client, [op("create", "list", uuid.uuid4(), name="pushed")], cursor=old)
    assert pushed.status_code == 200
    assert [c["type"] for c in pushed.json()["changes"]] == ["item", "item", "list"]


def test_the_integer_zero_and_an_empty_cursor_are_a_full_sync(user: Any, user_client: Any) -> None:
    make_list(user=user)
    full = pull(user_client)["changes"]

    assert pull(user_client, 0)["changes"] == full
    assert pull(user_client, "")["changes"] == full


def test_a_returned_cursor_used_twice_answers_the_same(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    cursor = pull(user_client)["cursor"]
    make_item(list=lst)

    first, second = pull(user_client, cursor), pull(user_client, cursor)

    assert first == second
    assert len(first["changes"]) == 1


def test_a_cursor_of_the_first_opaque_version_is_still_read(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    payload = cursors._encode_positions({personal_space_id(user): _head(user)})
    mac = cursors._mac(user, payload, settings.SECRET_KEY, 1)
    old = "c1." + base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")
    item = make_item(list=lst)

    answer = pull(user_client, old)

    assert [c["id"] for c in answer["changes"]] == [str(item.pk)]
    assert answer["cursor"].startswith("c2.")


def test_a_cursor_survives_a_secret_key_rotation_kept_as_a_fallback(
    user: Any, user_client: Any, settings: Any
) -> None:
    lst = make_list(user=user)
    cursor = pull(user_client)["cursor"]
    make_item(list=lst)

    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-for-this-test-only-0123456789"
    answer = pull(user_client, cursor)

    assert [c["type"] for c in answer["changes"]] == ["item"]


# --- spaces the cursor holds that the user no longer sees ---------------------------------------------------


def _cursor_holding(user: Any, space: Space, at: int = 0) -> str:
    """A cursor this server could have issued to `user` while they saw `space` (a membership since gone)."""
    return encode_cursor(user, {personal_space_id(user): _head(user), space.pk: at})


def test_a_space_the_user_no_longer_sees_is_one_workspace_tombstone(user: Any, user_client: Any) -> None:
    workspace_id = uuid.uuid4()
    space = create_workspace_space(workspace_id)

    answer = pull(user_client, _cursor_holding(user, space))

    assert answer["changes"] == [{"type": "workspace", "id": str(workspace_id), "deleted": True}]
    assert answer["has_more"] is False
    # The space is gone from the cursor: the tombstone is sent once.
    assert pull(user_client, answer["cursor"])["changes"] == []


def test_a_space_lost_while_a_page_stopped_inside_it_is_a_410(user: Any, user_client: Any) -> None:
    # The client may hold items of that space without their lists (the lists changed after them and come
    # later): it cannot tell those items were the workspace's, so it must start again.
    space = create_workspace_space(uuid.uuid4())
    cursor = encode_cursor(user, {personal_space_id(user): _head(user), space.pk: 3}, frozenset({space.pk}))

    response = user_client.get(SYNC_URL, {"cursor": cursor})

    assert response.status_code == 410
    assert response.json()["code"] == "cursor_expired"


def test_a_cursor_holding_a_space_pruned_after_its_workspace_was_deleted_is_a_410(
    user: Any, user_client: Any
) -> None:
    # The workspace was deleted and its space removed by pruning past the retention window: the client
    # cannot be told which workspace to drop any more, so it must start again.
    space = create_workspace_space(uuid.uuid4())
    cursor = _cursor_holding(user, space)
    space.delete()

    response = user_client.get(SYNC_URL, {"cursor": cursor})
    pushed = push(user_client, [op("create", "list", uuid.uuid4(), name="never made")], cursor=cursor)

    assert response.status_code == 410
    assert response.json()["code"] == "cursor_expired"
    assert pushed.status_code == 410
    assert not List.objects.filter(user=user).exists()


# --- paging -----------------------------------------------------------------------------------------------


def test_changes_never_hold_an_entity_twice_across_pages_and_spaces(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    items = [make_item(list=lst) for _ in range(6)]
    cursor = pull(user_client)["cursor"]
    for round_ in range(3):
        for item in items[:4]:
            item.refresh_from_db()
            item_update(
                user=user, item_id=item.pk, base=BaseVersion(item.version), data={"title": f"{round_}"}
            )
    item_delete(user=user, item_id=items[5].pk, base=BaseVersion(1))

    for limit in (1, 2, 3, 500):
        answer = pull(user_client, cursor, limit)
        keys = [(c["type"], c["id"]) for c in answer["changes"]]
        assert len(keys) == len(set(keys))
    _, changes = pull_all(user_client, cursor, limit=500)
    assert len(changes) == 5


def test_the_feed_reads_the_same_number_of_statements_whatever_the_pages_hold(
    user: Any, user_client: Any
) -> None:
    lst = make_list(user=user)
    for _ in range(5):
        make_item(list=lst)

    with CaptureQueriesContext(connection) as small:
        pull(user_client, limit=1)
    with CaptureQueriesContext(connection) as large:
        pull(user_client, limit=500)

    assert len(small) == len(large)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_an_answer_reads_one_snapshot(user: Any, monkeypatch: Any) -> None:
    # Every statement of an answer sees the heads of its first one: a list that changes while the answer
    # is read is not missing beside its items (sync/feed.py, _one_snapshot).
    from sync import feed

    seen: list[str] = []
    read = feed._changes_since

    def spy(*args: Any) -> Any:
        with connection.cursor() as db:
            db.execute("SHOW transaction_isolation")
            seen.append(db.fetchone()[0])
        return read(*args)

    monkeypatch.setattr(feed, "_changes_since", spy)
    feed.changes_since(user, feed.parse_cursor(None), 10)

    assert seen == ["repeatable read"]
    with connection.cursor() as db:
        db.execute("SHOW transaction_isolation")
        assert db.fetchone()[0] == "read committed"  # the connection is left as it was
