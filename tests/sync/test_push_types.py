"""POST sync for the types registered by other apps: focus_card, anti_todo and profile."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from accounts.models import Profile
from antitodo.models import AntiTodoEntry
from focus.models import FocusCard
from tests.sync.helpers import make_item, make_list, op, pull, push

pytestmark = pytest.mark.django_db


def _answer(response: Any) -> dict[str, Any]:
    assert response.status_code == 200, response.content
    return dict(response.json())


def test_focus_card_create_update_merge_conflict_delete_and_pull(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    a, b = make_item(list=lst), make_item(list=lst)
    card_id = uuid.uuid4()
    cursor = pull(user_client)["cursor"]

    answer = _answer(
        push(
            user_client,
            [op("create", "focus_card", card_id, date="2026-03-01", intention="ship", items=[str(a.pk)])],
            cursor=cursor,
        )
    )
    [created] = answer["results"]
    assert created["status"] == "applied", created
    assert created["entity"]["version"] == 1
    [change] = answer["changes"]
    assert change["type"] == "focus_card"
    assert change["data"]["items"] == [str(a.pk)]
    assert "done_count" not in change["data"]
    cursor = answer["cursor"]

    answer = _answer(
        push(user_client, [op("update", "focus_card", card_id, 1, items=[str(b.pk), str(a.pk)])], cursor)
    )
    assert answer["results"][0]["status"] == "applied", answer
    assert answer["changes"][0]["data"]["items"] == [str(b.pk), str(a.pk)]
    # From base 1 again: intention was not changed since, so it merges.
    answer = _answer(push(user_client, [op("update", "focus_card", card_id, 1, intention="rest")]))
    assert answer["results"][0]["status"] == "merged", answer
    # items were changed after version 1: a conflict.
    answer = _answer(push(user_client, [op("update", "focus_card", card_id, 1, items=[str(a.pk)])]))
    [conflict] = answer["results"]
    assert conflict["status"] == "conflict", conflict
    assert conflict["error"]["conflicting_fields"] == ["items"]
    assert conflict["error"]["current"]["version"] == 3

    answer = _answer(push(user_client, [op("delete", "focus_card", card_id, 3)], cursor=cursor))
    assert answer["results"][0]["status"] == "applied", answer
    assert answer["changes"] == [{"type": "focus_card", "id": str(card_id), "deleted": True}]
    assert not FocusCard.objects.filter(pk=card_id).exists()
    answer = _answer(push(user_client, [op("delete", "focus_card", card_id, 3)]))
    assert answer["results"][0]["status"] == "applied"


def test_a_focus_card_can_be_pushed_back_as_pulled(user: Any, user_client: Any) -> None:
    item = make_item(list=make_list(user=user))
    card_id = uuid.uuid4()
    _answer(push(user_client, [op("create", "focus_card", card_id, date="2026-03-01", items=[str(item.pk)])]))
    [change] = [c for c in pull(user_client)["changes"] if c["type"] == "focus_card"]
    data = {**change["data"], "intention": "edited"}

    answer = _answer(
        push(user_client, [{**op("update", "focus_card", card_id, change["version"]), "data": data}])
    )

    assert answer["results"][0]["status"] == "applied", answer


def test_anti_todo_create_update_merge_conflict_delete_and_pull(user: Any, user_client: Any) -> None:
    entry_id = uuid.uuid4()
    cursor = pull(user_client)["cursor"]
    answer = _answer(push(user_client, [op("create", "anti_todo", entry_id, title="Fixed the sink")], cursor))
    assert answer["results"][0]["status"] == "applied", answer
    assert [c["id"] for c in answer["changes"]] == [str(entry_id)]

    assert (
        _answer(push(user_client, [op("update", "anti_todo", entry_id, 1, title="Fixed it")]))["results"][0][
            "status"
        ]
        == "applied"
    )
    merged = _answer(push(user_client, [op("update", "anti_todo", entry_id, 1, note="with a wrench")]))
    assert merged["results"][0]["status"] == "merged", merged
    conflict = _answer(push(user_client, [op("update", "anti_todo", entry_id, 1, title="Other")]))["results"][
        0
    ]
    assert conflict["status"] == "conflict"
    assert conflict["error"]["conflicting_fields"] == ["title"]
    pulled = pull(user_client)["changes"]
    [entry] = [c for c in pulled if c["type"] == "anti_todo"]
    data = {**entry["data"], "note": "back as pulled"}
    back = _answer(push(user_client, [{**op("update", "anti_todo", entry_id, 3), "data": data}]))
    assert back["results"][0]["status"] == "applied", back

    answer = _answer(push(user_client, [op("delete", "anti_todo", entry_id, 4)], cursor))
    assert answer["results"][0]["status"] == "applied", answer
    assert answer["changes"] == [{"type": "anti_todo", "id": str(entry_id), "deleted": True}]
    assert not AntiTodoEntry.objects.filter(pk=entry_id).exists()


def test_profile_update_merges_per_preference_and_conflicts_per_key(user: Any, user_client: Any) -> None:
    [profile_change] = [c for c in pull(user_client)["changes"] if c["type"] == "profile"]
    pid, version = profile_change["id"], profile_change["version"]

    first = _answer(push(user_client, [op("update", "profile", pid, version, preferences={"focus_size": 5})]))
    assert first["results"][0]["status"] == "applied", first
    merged = _answer(
        push(user_client, [op("update", "profile", pid, version, preferences={"week_start": 6})])
    )
    assert merged["results"][0]["status"] == "merged", merged
    assert merged["results"][0]["entity"]["preferences"] == {
        "focus_size": 5,
        "focus_auto_generate": False,
        "week_start": 6,
    }
    conflict = _answer(
        push(user_client, [op("update", "profile", pid, version, preferences={"focus_size": 2})])
    )
    assert conflict["results"][0]["status"] == "conflict", conflict
    assert conflict["results"][0]["error"]["conflicting_fields"] == ["preferences.focus_size"]


def test_profile_push_back_as_pulled(user: Any, user_client: Any) -> None:
    [change] = [c for c in pull(user_client)["changes"] if c["type"] == "profile"]
    data = {**change["data"], "display_name": "Pulled"}

    answer = _answer(
        push(user_client, [{**op("update", "profile", change["id"], change["version"]), "data": data}])
    )

    assert answer["results"][0]["status"] == "applied", answer


@pytest.mark.parametrize("action", ["create", "delete"])
def test_a_profile_cannot_be_created_or_deleted_by_push(user: Any, user_client: Any, action: str) -> None:
    pid = Profile.objects.get(user=user).pk if Profile.objects.filter(user=user).exists() else uuid.uuid4()
    operation = (
        op(action, "profile", pid, 1) if action == "delete" else op(action, "profile", pid, display_name="x")
    )

    [result] = _answer(push(user_client, [operation]))["results"]

    assert result["status"] == "invalid"


def test_another_users_profile_id_changes_nothing(
    user: Any, user_client: Any, other_user: Any, other_client: Any
) -> None:
    pull(other_client)
    pull(user_client)
    theirs = Profile.objects.get(user=other_user)
    mine = Profile.objects.get(user=user)

    [result] = _answer(push(user_client, [op("update", "profile", theirs.pk, 1, display_name="Hacked")]))[
        "results"
    ]

    assert result["status"] == "invalid", result
    assert result["error"]["code"] == "not_found"
    assert Profile.objects.get(pk=mine.pk).version == mine.version
    user.refresh_from_db()
    other_user.refresh_from_db()
    assert "Hacked" not in (user.display_name, other_user.display_name)


@pytest.mark.parametrize("type_", ["focus_card", "anti_todo"])
def test_another_users_focus_or_anti_todo_id_reveals_nothing(
    user: Any, user_client: Any, other_user: Any, other_client: Any, type_: str
) -> None:
    theirs_id = uuid.uuid4()
    data: dict[str, Any] = {"date": "2026-03-01"} if type_ == "focus_card" else {"title": "theirs"}
    assert (
        _answer(push(other_client, [op("create", type_, theirs_id, **data)]))["results"][0]["status"]
        == "applied"
    )
    missing = uuid.uuid4()
    upd: dict[str, Any] = {"intention": "x"} if type_ == "focus_card" else {"title": "x"}

    cases: list[tuple[str, dict[str, Any]]] = [("update", upd), ("delete", {})]
    for action, extra in cases:
        [foreign] = _answer(push(user_client, [op(action, type_, theirs_id, 1, **extra)]))["results"]
        [absent] = _answer(push(user_client, [op(action, type_, missing, 1, **extra)]))["results"]
        assert foreign["status"] == absent["status"] == "invalid", (foreign, absent)
        assert foreign["error"] == absent["error"]
    [created] = _answer(push(user_client, [op("create", type_, theirs_id, **data)]))["results"]
    assert created["status"] == "invalid"
    assert created["error"]["code"] == "id_conflict"


def test_a_focus_card_with_another_users_item_is_invalid(
    user: Any, user_client: Any, other_user: Any
) -> None:
    theirs = make_item(list=make_list(user=other_user))

    [result] = _answer(
        push(
            user_client, [op("create", "focus_card", uuid.uuid4(), date="2026-03-01", items=[str(theirs.pk)])]
        )
    )["results"]

    assert result["status"] == "invalid"
    assert not FocusCard.objects.exists()


def test_an_anti_todo_with_another_users_item_is_invalid(
    user: Any, user_client: Any, other_user: Any
) -> None:
    theirs = make_item(list=make_list(user=other_user))

    [result] = _answer(
        push(user_client, [op("create", "anti_todo", uuid.uuid4(), title="x", item=str(theirs.pk))])
    )["results"]

    assert result["status"] == "invalid"
    assert not AntiTodoEntry.objects.exists()


def test_a_focus_card_for_a_taken_date_is_invalid_not_500(user: Any, user_client: Any) -> None:
    _answer(push(user_client, [op("create", "focus_card", uuid.uuid4(), date="2026-03-01")]))

    [result] = _answer(push(user_client, [op("create", "focus_card", uuid.uuid4(), date="2026-03-01")]))[
        "results"
    ]

    assert result["status"] == "invalid"


@pytest.mark.parametrize(
    ("type_", "data"),
    [
        ("focus_card", {"date": "2026-02-30"}),
        ("focus_card", {"date": "2026-03-01", "items": ["nope"]}),
        ("focus_card", {"date": "2026-03-01", "intention": "a\x00b"}),
        ("focus_card", {"date": "2026-03-01", "source": "robot"}),
        ("anti_todo", {"title": ""}),
        ("anti_todo", {"title": "x", "date": "0001-01-01"}),
        ("anti_todo", {"title": "x\x00"}),
        ("anti_todo", {"title": "x", "item": 5}),
    ],
)
def test_bad_data_is_invalid_not_500(user_client: Any, type_: str, data: dict[str, Any]) -> None:
    [result] = _answer(push(user_client, [op("create", type_, uuid.uuid4(), **data)]))["results"]

    assert result["status"] == "invalid", result


@pytest.mark.parametrize(
    "data",
    [
        {"timezone": "Mars/Olympus"},
        {"preferences": {"focus_size": 11}},
        {"preferences": {"colour": "red"}},
        {"preferences": "x"},
        {"onboarding": {"completed_steps": ["fly"]}},
        {"onboarding": {"completed_at": "2999-01-01T00:00:00Z"}},
        {"display_name": "a\x00"},
        {"email": "new@example.com", "display_name": "ok"},
    ],
)
def test_bad_profile_data_is_invalid_not_500(user: Any, user_client: Any, data: dict[str, Any]) -> None:
    [change] = [c for c in pull(user_client)["changes"] if c["type"] == "profile"]

    [result] = _answer(push(user_client, [op("update", "profile", change["id"], change["version"], **data)]))[
        "results"
    ]

    if "email" in data:
        assert result["status"] == "applied"
        user.refresh_from_db()
        assert user.email != "new@example.com"
    else:
        assert result["status"] == "invalid", result


def test_deleting_a_list_updates_cards_and_entries_that_held_its_items_in_the_feed(
    user: Any, user_client: Any
) -> None:
    lst = make_list(user=user)
    keep = make_item(list=make_list(user=user))
    gone = make_item(list=lst)
    card_id, entry_id = uuid.uuid4(), uuid.uuid4()
    _answer(
        push(
            user_client,
            [
                op("create", "focus_card", card_id, date="2026-03-01", items=[str(gone.pk), str(keep.pk)]),
                op("create", "anti_todo", entry_id, title="x", item=str(gone.pk)),
            ],
        )
    )
    cursor = pull(user_client)["cursor"]

    answer = _answer(push(user_client, [op("delete", "list", lst.pk, lst.version)], cursor))

    assert answer["results"][0]["status"] == "applied", answer
    changes = {(c["type"], c["id"]): c for c in answer["changes"]}
    assert changes[("focus_card", str(card_id))]["data"]["items"] == [str(keep.pk)]
    assert changes[("anti_todo", str(entry_id))]["data"]["item"] is None
    assert changes[("item", str(gone.pk))]["deleted"] is True
    assert changes[("list", str(lst.pk))]["deleted"] is True
    assert len(answer["changes"]) == len(changes)
