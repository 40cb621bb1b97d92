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
from lists.models import Item, List
from lists.services import item_delete, item_update, list_create, list_update
from sync import cursors
from sync.cursors import MAX_LENGTH, encode_cursor
from sync.models import ProcessedOperation, Space
from sync.spaces import create_workspace_space, personal_space_id
from tests.factories import MemberFactory, UserFactory, WorkspaceFactory
from tests.sync.helpers import (
    SYNC_URL,
    apply_changes,
    make_item,
    make_list,
    op,
    position,
    pull,
    pull_all,
    push,
    server_state,
)
from workspaces.services import (
    member_change_role,
    member_leave,
    member_remove,
    workspace_delete,
    workspace_rename,
)

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

    # Both measured pulls find the token's user in the cache.
    pull(user_client, limit=1)
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


# --- workspaces: joining and losing access -----------------------------------------------------------------


def _workspace(owner: Any, name: str = "Home") -> Any:
    return WorkspaceFactory.create(user=owner, name=name)


def _join(workspace: Any, user: Any, role: str = "editor") -> Any:
    return MemberFactory.create(workspace=workspace, user=user, role=role)


def _replica(client: Any, cursor: Any = None, limit: int = 500) -> tuple[Any, dict[Any, Any]]:
    replica: dict[Any, Any] = {}
    cursor, changes = pull_all(client, cursor, limit=limit)
    apply_changes(replica, changes)
    return cursor, replica


def _keys(changes: list[dict[str, Any]]) -> list[tuple[str, str, bool]]:
    return [(c["type"], c["id"], c["deleted"]) for c in changes]


def test_a_workspace_joined_since_the_cursor_is_sent_whole(
    user: Any, other_user: Any, user_client: Any
) -> None:
    workspace = _workspace(other_user)
    _join(workspace, UserFactory.create())
    workspace_rename(user=other_user, workspace_id=workspace.pk, base=BaseVersion(1), data={"name": "Ours"})
    cursor, replica = _replica(user_client)

    _join(workspace, user)
    answer = pull(user_client, cursor)
    apply_changes(replica, answer["changes"])

    received = _keys(answer["changes"])
    assert ("workspace", str(workspace.pk), False) in received
    assert not any(deleted for _, _, deleted in received)
    assert len([key for key in received if key[0] == "member"]) == 3
    assert replica == server_state(user)


def test_an_integer_cursor_of_api_1_0_sends_every_workspace_whole(
    user: Any, other_user: Any, user_client: Any
) -> None:
    workspace = _workspace(other_user)
    _join(workspace, user)
    _cursor, replica = _replica(user_client)

    answer = pull(user_client, _head(user))

    received = _keys(answer["changes"])
    assert ("workspace", str(workspace.pk), False) in received
    assert {key[0] for key in received} == {"workspace", "member"}
    apply_changes(replica, answer["changes"])
    assert replica == server_state(user)


def _lose(how: str, workspace: Any, owner: Any, member: Any) -> None:
    if how == "removed":
        member_remove(user=owner, workspace_id=workspace.pk, member_user_id=member.pk)
    elif how == "left":
        member_leave(user=member, workspace_id=workspace.pk)
    else:
        workspace.refresh_from_db()
        workspace_delete(user=owner, workspace_id=workspace.pk, base=BaseVersion(workspace.version))


@pytest.mark.parametrize("how", ["removed", "left", "deleted"])
def test_losing_access_is_one_workspace_tombstone_sent_once(
    user: Any, other_user: Any, user_client: Any, how: str
) -> None:
    workspace = _workspace(other_user)
    _join(workspace, user)
    third = _join(workspace, UserFactory.create(), role="viewer")
    personal = make_list(user=user)
    cursor, replica = _replica(user_client)
    # Changes the member never pulled: none may reach them once they lost access.
    member_change_role(
        user=other_user, workspace_id=workspace.pk, member_user_id=third.user_id, role="editor"
    )
    workspace_rename(user=other_user, workspace_id=workspace.pk, base=BaseVersion(1), data={"name": "Later"})

    _lose(how, workspace, other_user, user)
    answer = pull(user_client, cursor)
    apply_changes(replica, answer["changes"])

    assert answer["changes"][0] == {"type": "workspace", "id": str(workspace.pk), "deleted": True}
    # Nothing of the workspace's own: only, for a deletion, the invitation the member had accepted, which
    # lived in their personal space and goes with the workspace.
    assert [c["type"] for c in answer["changes"][1:]] == (["invitation"] if how == "deleted" else [])
    assert replica == server_state(user)
    assert ("list", str(personal.pk)) in replica
    assert not any(key[0] == "member" for key in replica)
    if how != "deleted":
        workspace_rename(
            user=other_user, workspace_id=workspace.pk, base=BaseVersion(2), data={"name": "Gone"}
        )
    assert pull(user_client, answer["cursor"])["changes"] == []


def test_every_member_gets_the_one_tombstone_of_a_deleted_workspace(
    user: Any, other_user: Any, make_client: Any
) -> None:
    workspace = _workspace(other_user)
    members = [
        _join(workspace, UserFactory.create(), role=role).user for role in ("admin", "editor", "viewer")
    ]
    clients = [make_client(member) for member in (other_user, *members)]
    cursors = [pull_all(client)[0] for client in clients]

    _lose("deleted", workspace, other_user, None)

    for client, cursor in zip(clients, cursors, strict=True):
        changes = pull(client, cursor)["changes"]
        assert changes[0] == {"type": "workspace", "id": str(workspace.pk), "deleted": True}
        assert {c["type"] for c in changes[1:]} <= {"invitation"}


def test_a_member_removed_and_added_again_between_two_pulls_converges(
    user: Any, other_user: Any, user_client: Any
) -> None:
    workspace = _workspace(other_user)
    third = _join(workspace, UserFactory.create())
    _join(workspace, user)
    cursor, replica = _replica(user_client)

    member_remove(user=other_user, workspace_id=workspace.pk, member_user_id=user.pk)
    member_remove(user=other_user, workspace_id=workspace.pk, member_user_id=third.user_id)
    workspace_rename(
        user=other_user, workspace_id=workspace.pk, base=BaseVersion(1), data={"name": "Meanwhile"}
    )
    _join(workspace, user, role="viewer")
    _cursor, changes = pull_all(user_client, cursor, limit=2)
    apply_changes(replica, changes)

    assert replica == server_state(user)
    assert ("member", str(third.pk)) not in replica


def test_a_page_stopping_inside_a_workspace_then_losing_it_is_a_410_and_a_full_sync_converges(
    user: Any, other_user: Any, user_client: Any
) -> None:
    workspace = _workspace(other_user)
    for _ in range(3):
        _join(workspace, UserFactory.create())
    _join(workspace, user)
    answer = pull(user_client, None, limit=1)
    while not any(c["type"] == "member" for c in answer["changes"]):
        answer = pull(user_client, answer["cursor"], limit=1)

    member_remove(user=other_user, workspace_id=workspace.pk, member_user_id=user.pk)
    response = user_client.get(SYNC_URL, {"cursor": answer["cursor"]})

    assert response.status_code == 410
    assert response.json()["code"] == "cursor_expired"
    _cursor, replica = _replica(user_client)
    assert replica == server_state(user)


def test_a_page_ending_with_the_last_change_of_a_workspace_keeps_the_tombstone(
    user: Any, other_user: Any, user_client: Any
) -> None:
    workspace = _workspace(other_user)
    _join(workspace, user)
    cursor = _replica(user_client, limit=1)[0]

    member_remove(user=other_user, workspace_id=workspace.pk, member_user_id=user.pk)
    answer = pull(user_client, cursor)

    assert answer["changes"] == [{"type": "workspace", "id": str(workspace.pk), "deleted": True}]


# --- pruning, space by space --------------------------------------------------------------------------------


def test_a_cursor_behind_a_workspaces_watermark_is_a_410_whatever_the_personal_space_says(
    user: Any, other_user: Any, user_client: Any
) -> None:
    workspace = _workspace(other_user)
    _join(workspace, user)
    cursor = pull_all(user_client)[0]
    workspace_rename(user=other_user, workspace_id=workspace.pk, base=BaseVersion(1), data={"name": "New"})
    space = Space.objects.get(workspace_id=workspace.pk)
    Space.objects.filter(pk=space.pk).update(pruned_through=space.last_change_number)

    response = user_client.get(SYNC_URL, {"cursor": cursor})

    assert response.status_code == 410
    assert response.json()["code"] == "cursor_expired"


def test_a_workspace_joined_after_a_prune_arrives_whole_whatever_the_page_size(
    user: Any, other_user: Any, user_client: Any
) -> None:
    workspace = _workspace(other_user)
    for _ in range(4):
        _join(workspace, UserFactory.create())
    space = Space.objects.get(workspace_id=workspace.pk)
    Space.objects.filter(pk=space.pk).update(pruned_through=space.last_change_number - 1)
    cursor, replica = _replica(user_client)

    _join(workspace, user)
    _cursor, changes = pull_all(user_client, cursor, limit=2)
    apply_changes(replica, changes)

    assert replica == server_state(user)


# --- the cost of many spaces -------------------------------------------------------------------------------


def _member_of(user: Any, owner: Any, count: int) -> list[Any]:
    workspaces = []
    for n in range(count):
        workspace = _workspace(owner, f"W{n}")
        _join(workspace, user)
        workspaces.append(workspace)
    return workspaces


def _statements(client: Any, cursor: Any) -> int:
    with CaptureQueriesContext(connection) as queries:
        response = client.get(SYNC_URL, {"cursor": cursor} if cursor else {})
    assert response.status_code == 200
    return len(queries)


def test_a_pull_costs_the_same_statements_for_1_or_20_workspaces(make_client: Any) -> None:
    owner = UserFactory.create()
    one, twenty = UserFactory.create(), UserFactory.create()
    few, many = _member_of(one, owner, 1), _member_of(twenty, owner, 20)
    one_client, twenty_client = make_client(one), make_client(twenty)

    assert _statements(one_client, None) == _statements(twenty_client, None)
    one_cursor, twenty_cursor = pull_all(one_client)[0], pull_all(twenty_client)[0]
    for workspace in few + many:
        workspace_rename(user=owner, workspace_id=workspace.pk, base=BaseVersion(1), data={"name": "renamed"})
        member_leave(user=_join(workspace, UserFactory.create()).user, workspace_id=workspace.pk)

    assert _statements(one_client, one_cursor) == _statements(twenty_client, twenty_cursor)
    assert len(pull(twenty_client, twenty_cursor)["changes"]) == 20 * 2  # a rename, a member's tombstone
    one_cursor, twenty_cursor = (
        pull(one_client, one_cursor)["cursor"],
        pull(twenty_client, twenty_cursor)["cursor"],
    )
    # Nothing new: the spaces' state only, however many spaces (the token's user is cached by now).
    assert _statements(one_client, one_cursor) == _statements(twenty_client, twenty_cursor) == 1


# --- moves between spaces ----------------------------------------------------------------------------------


def _shared_list(owner: Any, workspace: Any, items: int = 2, name: str = "Shared") -> tuple[Any, list[Any]]:
    lst, _ = list_create(user=owner, data={"name": name, "workspace": workspace.pk})
    return lst, [make_item(list=lst, user=owner) for _ in range(items)]


def test_a_list_moved_between_spaces_is_one_change_for_whoever_sees_both(
    user: Any, other_user: Any, user_client: Any, make_client: Any
) -> None:
    owner_client = make_client(other_user)
    workspace = _workspace(other_user)
    _join(workspace, user)
    moving = make_list(user=other_user, name="Groceries")
    items = [make_item(list=moving) for _ in range(3)]
    owner_cursor, owner_replica = _replica(owner_client)
    member_cursor, member_replica = _replica(user_client)

    moved, _ = list_update(
        user=other_user, list_id=moving.pk, base=BaseVersion(1), data={"workspace": workspace.pk}
    )
    owners, members = pull(owner_client, owner_cursor), pull(user_client, member_cursor)

    moved_keys = {("list", str(moving.pk), False), *{("item", str(i.pk), False) for i in items}}
    assert set(_keys(owners["changes"])) == moved_keys  # no tombstone: the owner sees both spaces
    assert set(_keys(members["changes"])) == moved_keys  # new to the member
    assert len(owners["changes"]) == len(members["changes"]) == 4
    assert [c["data"]["workspace"] for c in owners["changes"] if c["type"] == "list"] == [str(workspace.pk)]
    apply_changes(owner_replica, owners["changes"])
    apply_changes(member_replica, members["changes"])
    assert owner_replica == server_state(other_user)
    assert member_replica == server_state(user)

    list_update(user=other_user, list_id=moving.pk, base=BaseVersion(moved.version), data={"workspace": None})
    owners, members = pull(owner_client, owners["cursor"]), pull(user_client, members["cursor"])

    assert set(_keys(owners["changes"])) == moved_keys
    assert set(_keys(members["changes"])) == {(t, i, True) for t, i, _ in moved_keys}  # left their view
    apply_changes(owner_replica, owners["changes"])
    apply_changes(member_replica, members["changes"])
    assert owner_replica == server_state(other_user)
    assert member_replica == server_state(user)


def test_an_item_moved_to_a_list_of_another_space_reaches_each_side_once(
    user: Any, other_user: Any, user_client: Any, make_client: Any
) -> None:
    owner_client = make_client(other_user)
    workspace = _workspace(other_user)
    _join(workspace, user)
    shared, _ = _shared_list(other_user, workspace, items=0)
    item = make_item(list=make_list(user=other_user))
    owner_cursor, member_cursor = pull_all(owner_client)[0], pull_all(user_client)[0]

    item_update(user=other_user, item_id=item.pk, base=BaseVersion(1), data={"list": shared.pk})
    owners = pull(owner_client, owner_cursor)
    members = pull(user_client, member_cursor)["changes"]

    assert _keys(owners["changes"]) == [("item", str(item.pk), False)]
    assert _keys(members) == [("item", str(item.pk), False)]
    assert owners["changes"][0]["data"]["list"] == str(shared.pk)
    item.refresh_from_db()
    own = make_list(user=user)
    item_update(user=user, item_id=item.pk, base=BaseVersion(item.version), data={"list": own.pk})
    # The member took it to their own list: it left the owner's view.
    assert _keys(pull(owner_client, owners["cursor"])["changes"]) == [("item", str(item.pk), True)]


def test_an_item_moved_into_a_workspace_and_deleted_there_before_the_user_joined_it_is_a_tombstone(
    user: Any, other_user: Any, user_client: Any, make_client: Any
) -> None:
    # The item leaves a space the user reads for one they will see only later, and is deleted there
    # first: joining sends that space whole (no tombstones), so the move out must be the tombstone.
    mine = _workspace(user, "Work")
    _join(mine, other_user)
    theirs = _workspace(other_user, "Home")
    _kept, items = _shared_list(user, mine, items=1)
    target, _ = _shared_list(other_user, theirs, items=0)
    cursor, replica = _replica(user_client)
    assert ("item", str(items[0].pk)) in replica

    moved, _ = item_update(
        user=other_user, item_id=items[0].pk, base=BaseVersion(1), data={"list": target.pk}
    )
    item_delete(user=other_user, item_id=moved.pk, base=BaseVersion(moved.version))
    _join(theirs, user)
    _cursor, changes = pull_all(user_client, cursor)
    apply_changes(replica, changes)

    assert ("item", str(items[0].pk), True) in _keys(changes)
    assert replica == server_state(user)


def test_a_list_moved_back_and_forth_between_two_pulls_appears_once(
    other_user: Any, make_client: Any
) -> None:
    owner_client = make_client(other_user)
    workspace = _workspace(other_user)
    moving = make_list(user=other_user)
    make_item(list=moving)
    cursor = pull_all(owner_client)[0]

    version = 1
    for target in (workspace.pk, None, workspace.pk):
        moved, _ = list_update(
            user=other_user, list_id=moving.pk, base=BaseVersion(version), data={"workspace": target}
        )
        version = moved.version
    for limit in (1, 2, 500):
        keys = [(c["type"], c["id"]) for c in pull(owner_client, cursor, limit)["changes"]]
        assert len(keys) == len(set(keys))
    changes = pull(owner_client, cursor)["changes"]
    assert not any(c["deleted"] for c in changes)
    assert len(changes) == 2


def test_an_item_whose_list_comes_later_is_never_left_behind_by_a_lost_workspace(
    user: Any, other_user: Any, user_client: Any
) -> None:
    workspace = _workspace(other_user)
    lst, items = _shared_list(other_user, workspace, items=3)
    # The list changes after its items: its number follows theirs, so a page may stop between them.
    list_update(user=other_user, list_id=lst.pk, base=BaseVersion(1), data={"name": "renamed"})
    _join(workspace, user)
    replica: dict[Any, Any] = {}
    answer = pull(user_client, None, limit=1)
    apply_changes(replica, answer["changes"])
    while ("item", str(items[0].pk)) not in replica:
        answer = pull(user_client, answer["cursor"], limit=1)
        apply_changes(replica, answer["changes"])
    assert ("list", str(lst.pk)) not in replica  # the client holds an item without its list

    member_remove(user=other_user, workspace_id=workspace.pk, member_user_id=user.pk)
    response = user_client.get(SYNC_URL, {"cursor": answer["cursor"]})

    assert response.status_code == 410
    _cursor, replica = _replica(user_client)
    assert replica == server_state(user)


def test_a_pull_of_lists_and_items_costs_the_same_statements_for_1_or_20_workspaces(
    make_client: Any, django_assert_num_queries: Any
) -> None:
    owner = UserFactory.create()
    one, twenty = UserFactory.create(), UserFactory.create()
    few, many = _member_of(one, owner, 1), _member_of(twenty, owner, 20)
    for workspace in few + many:
        _shared_list(owner, workspace, items=2)
    one_client, twenty_client = make_client(one), make_client(twenty)
    # A full sync: the user; the spaces with what each type has pending; then one statement per type with
    # something pending, for every space at once: the profile, the invitations, the workspaces, the
    # members, the lists, the items.
    with django_assert_num_queries(1 + 1 + 6):
        one_cursor = one_client.get(SYNC_URL).json()["cursor"]
    with django_assert_num_queries(1 + 1 + 6):
        twenty_cursor = twenty_client.get(SYNC_URL).json()["cursor"]

    for workspace in few + many:
        lst = List.objects.get(workspace=workspace)
        first, second = Item.objects.filter(list=lst).order_by("pk")
        item_update(user=owner, item_id=first.pk, base=BaseVersion(1), data={"title": "edited"})
        item_delete(user=owner, item_id=second.pk, base=BaseVersion(1))
        list_update(user=owner, list_id=lst.pk, base=BaseVersion(1), data={"name": "renamed"})
    # Incremental, the token's user cached by now: the spaces; the lists; the items; the tombstones and
    # moves out.
    with django_assert_num_queries(1 + 2 + 1):
        one_answer = one_client.get(SYNC_URL, {"cursor": one_cursor}).json()
    with django_assert_num_queries(1 + 2 + 1):
        twenty_answer = twenty_client.get(SYNC_URL, {"cursor": twenty_cursor}).json()

    assert len(one_answer["changes"]) == 3
    assert len(twenty_answer["changes"]) == 60


def _through_an_unseen_space(owner: Any, item: Any, lists: list[Any]) -> None:
    """Moves the item to each list in turn."""
    for lst in lists:
        item.refresh_from_db()
        item_update(user=owner, item_id=item.pk, base=BaseVersion(item.version), data={"list": lst.pk})


def test_an_entity_that_moved_through_an_unseen_space_to_a_seen_one_is_never_dropped(
    user: Any, other_user: Any, user_client: Any
) -> None:
    # Pages go space by space: the item arrives from the first space (read first), while the record it
    # left in the second, naming a space the member does not see, is read on a later page. That record
    # must not drop the item the page before delivered.
    first, second, unseen = (_workspace(other_user, name) for name in ("First", "Second", "Unseen"))
    _join(first, user)
    _join(second, user)
    (in_first, _), (_, items), (in_unseen, _) = (
        _shared_list(other_user, w, items=n) for w, n in ((first, 0), (second, 3), (unseen, 0))
    )
    cursor, replica = _replica(user_client)

    for item in items[1:]:
        item_update(user=other_user, item_id=item.pk, base=BaseVersion(1), data={"title": "before the move"})
    _through_an_unseen_space(other_user, items[0], [in_unseen, in_first])
    _cursor, changes = pull_all(user_client, cursor, limit=1)
    apply_changes(replica, changes)

    assert replica == server_state(user)
    assert replica[("item", str(items[0].pk))]["list"] == str(in_first.pk)


def test_a_workspace_joined_again_whose_history_names_an_entity_now_seen_elsewhere_keeps_it(
    user: Any, other_user: Any, user_client: Any
) -> None:
    # The member holds the item from the space it is in now; the space it came from (through one they do
    # not see) is sent whole when they join it, over several pages: its old record must not drop it.
    here, back, unseen = (_workspace(other_user, name) for name in ("Here", "Back", "Unseen"))
    _join(here, user)
    (in_here, _), (_, items), (in_unseen, _) = (
        _shared_list(other_user, w, items=n) for w, n in ((here, 0), (back, 4), (unseen, 0))
    )
    _through_an_unseen_space(other_user, items[0], [in_unseen, in_here])
    for item in items[1:]:
        item_update(user=other_user, item_id=item.pk, base=BaseVersion(1), data={"title": "after the move"})
    cursor, replica = _replica(user_client)
    assert ("item", str(items[0].pk)) in replica

    _join(back, user)
    _cursor, changes = pull_all(user_client, cursor, limit=2)
    apply_changes(replica, changes)

    assert replica == server_state(user)


def test_departures_that_are_no_tombstone_for_the_reader_still_count_where_a_page_stops(
    user: Any, other_user: Any, user_client: Any
) -> None:
    # Departures are read `limit + 1` at a time: had the moves to a space the member sees been dropped
    # before the page was cut, the cut could pass the deletion read after them, and it would never come.
    first, second = _workspace(other_user, "First"), _workspace(other_user, "Second")
    _join(first, user)
    _join(second, user)
    (in_first, _), (in_second, items) = (
        _shared_list(other_user, w, items=n) for w, n in ((first, 0), (second, 5))
    )
    cursor, replica = _replica(user_client)

    for item in items[:3]:
        item_update(user=other_user, item_id=item.pk, base=BaseVersion(1), data={"list": in_first.pk})
    item_delete(user=other_user, item_id=items[3].pk, base=BaseVersion(1))
    item_update(user=other_user, item_id=items[4].pk, base=BaseVersion(1), data={"title": "later"})
    for _ in range(2):
        make_item(list=in_second, user=other_user)
    _cursor, changes = pull_all(user_client, cursor, limit=2)
    apply_changes(replica, changes)

    assert ("item", str(items[3].pk)) not in replica
    assert replica == server_state(user)
