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


TYPES = ["focus_card", "anti_todo"]


@pytest.fixture
def item_id(user: Any) -> str:
    return str(make_item(list=make_list(user=user)).pk)


def _fields(type_: str, item_id: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """What a create of `type_` sends, then an edit of each of two fields that merge independently."""
    if type_ == "focus_card":
        return {"date": "2026-03-01", "intention": "ship"}, {"items": [item_id]}, {"intention": "rest"}
    return {"title": "Fixed the sink"}, {"title": "Fixed it"}, {"note": "with a wrench"}


def _result(client: Any, operation: dict[str, Any], cursor: int | None = None) -> dict[str, Any]:
    [result] = _answer(push(client, [operation], cursor))["results"]
    return dict(result)


def _created(client: Any, type_: str, data: dict[str, Any]) -> uuid.UUID:
    entity_id = uuid.uuid4()
    result = _result(client, op("create", type_, entity_id, **data))
    assert result["status"] == "applied", result
    return entity_id


@pytest.mark.parametrize("type_", TYPES)
def test_a_pushed_entity_is_created_at_version_1_and_sent_back_in_the_changes(
    user_client: Any, item_id: str, type_: str
) -> None:
    create, _, _ = _fields(type_, item_id)
    entity_id = uuid.uuid4()
    cursor = pull(user_client)["cursor"]

    answer = _answer(push(user_client, [op("create", type_, entity_id, **create)], cursor))

    [created] = answer["results"]
    assert created["status"] == "applied", created
    assert created["entity"]["version"] == 1
    [change] = answer["changes"]
    assert (change["type"], change["id"]) == (type_, str(entity_id))
    assert {name: change["data"][name] for name in create} == create


def test_a_pushed_focus_card_is_sent_back_without_its_done_count(user_client: Any, item_id: str) -> None:
    cursor = pull(user_client)["cursor"]

    answer = _answer(push(user_client, [op("create", "focus_card", uuid.uuid4(), date="2026-03-01")], cursor))

    assert "done_count" not in answer["changes"][0]["data"]


@pytest.mark.parametrize("type_", TYPES)
def test_an_update_from_the_current_version_is_applied(user_client: Any, item_id: str, type_: str) -> None:
    create, edit, _ = _fields(type_, item_id)
    entity_id = _created(user_client, type_, create)
    cursor = pull(user_client)["cursor"]

    answer = _answer(push(user_client, [op("update", type_, entity_id, 1, **edit)], cursor))

    assert answer["results"][0]["status"] == "applied", answer
    [change] = answer["changes"]
    assert {name: change["data"][name] for name in edit} == edit


@pytest.mark.parametrize("type_", TYPES)
def test_an_update_of_a_field_untouched_since_its_base_merges(
    user_client: Any, item_id: str, type_: str
) -> None:
    create, edit, other_edit = _fields(type_, item_id)
    entity_id = _created(user_client, type_, create)
    _result(user_client, op("update", type_, entity_id, 1, **edit))

    result = _result(user_client, op("update", type_, entity_id, 1, **other_edit))

    assert result["status"] == "merged", result


@pytest.mark.parametrize("type_", TYPES)
def test_an_update_of_a_field_changed_since_its_base_conflicts_on_that_field(
    user_client: Any, item_id: str, type_: str
) -> None:
    create, edit, _ = _fields(type_, item_id)
    entity_id = _created(user_client, type_, create)
    _result(user_client, op("update", type_, entity_id, 1, **edit))
    [field] = edit

    result = _result(user_client, op("update", type_, entity_id, 1, **{field: create.get(field, [])}))

    assert result["status"] == "conflict", result
    assert result["error"]["conflicting_fields"] == [field]
    assert result["error"]["current"]["version"] == 2


@pytest.mark.parametrize("type_", TYPES)
def test_an_entity_can_be_pushed_back_as_pulled(user_client: Any, item_id: str, type_: str) -> None:
    create, _, other_edit = _fields(type_, item_id)
    entity_id = _created(user_client, type_, create)
    [change] = [c for c in pull(user_client)["changes"] if c["type"] == type_]

    data = {**change["data"], **other_edit}
    result = _result(user_client, {**op("update", type_, entity_id, change["version"]), "data": data})

    assert result["status"] == "applied", result


@pytest.mark.parametrize("type_", TYPES)
def test_a_delete_is_applied_and_sent_as_a_tombstone(user_client: Any, item_id: str, type_: str) -> None:
    entity_id = _created(user_client, type_, _fields(type_, item_id)[0])
    cursor = pull(user_client)["cursor"]

    answer = _answer(push(user_client, [op("delete", type_, entity_id, 1)], cursor))

    assert answer["results"][0]["status"] == "applied", answer
    assert answer["changes"] == [{"type": type_, "id": str(entity_id), "deleted": True}]
    model = FocusCard if type_ == "focus_card" else AntiTodoEntry
    assert not model.objects.filter(pk=entity_id).exists()


@pytest.mark.parametrize("type_", TYPES)
def test_deleting_a_deleted_entity_again_is_applied(user_client: Any, item_id: str, type_: str) -> None:
    entity_id = _created(user_client, type_, _fields(type_, item_id)[0])
    _result(user_client, op("delete", type_, entity_id, 1))

    result = _result(user_client, op("delete", type_, entity_id, 1))

    assert result["status"] == "applied", result


@pytest.fixture
def profile_change(user_client: Any) -> dict[str, Any]:
    [change] = [c for c in pull(user_client)["changes"] if c["type"] == "profile"]
    return dict(change)


def test_a_profile_preference_pushed_from_its_version_is_applied(
    user_client: Any, profile_change: dict[str, Any]
) -> None:
    pid, version = profile_change["id"], profile_change["version"]

    result = _result(user_client, op("update", "profile", pid, version, preferences={"focus_size": 5}))

    assert result["status"] == "applied", result
    assert result["entity"]["preferences"]["focus_size"] == 5


def test_another_preference_changed_from_an_old_base_merges_with_the_others(
    user_client: Any, profile_change: dict[str, Any]
) -> None:
    pid, version = profile_change["id"], profile_change["version"]
    _result(user_client, op("update", "profile", pid, version, preferences={"focus_size": 5}))

    result = _result(user_client, op("update", "profile", pid, version, preferences={"week_start": 6}))

    assert result["status"] == "merged", result
    assert result["entity"]["preferences"] == {
        "focus_size": 5,
        "focus_auto_generate": False,
        "focus_time": "07:00",
        "reminder_email": False,
        "week_start": 6,
    }


def test_the_same_preference_changed_from_an_old_base_conflicts_on_that_key(
    user_client: Any, profile_change: dict[str, Any]
) -> None:
    pid, version = profile_change["id"], profile_change["version"]
    _result(user_client, op("update", "profile", pid, version, preferences={"focus_size": 5}))

    result = _result(user_client, op("update", "profile", pid, version, preferences={"focus_size": 2}))

    assert result["status"] == "conflict", result
    assert result["error"]["conflicting_fields"] == ["preferences.focus_size"]


def test_a_profile_can_be_pushed_back_as_pulled(user_client: Any, profile_change: dict[str, Any]) -> None:
    data = {**profile_change["data"], "display_name": "Pulled"}
    operation = op("update", "profile", profile_change["id"], profile_change["version"])

    result = _result(user_client, {**operation, "data": data})

    assert result["status"] == "applied", result


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


@pytest.mark.parametrize("action", ["update", "delete"])
@pytest.mark.parametrize("type_", TYPES)
def test_another_users_id_is_answered_as_a_missing_one(
    user_client: Any, other_client: Any, item_id: str, type_: str, action: str
) -> None:
    create, _, edit = _fields(type_, item_id)
    theirs = _created(other_client, type_, create)
    data = edit if action == "update" else {}

    foreign = _result(user_client, op(action, type_, theirs, 1, **data))
    absent = _result(user_client, op(action, type_, uuid.uuid4(), 1, **data))

    assert foreign["status"] == absent["status"] == "invalid", (foreign, absent)
    assert foreign["error"] == absent["error"]


@pytest.mark.parametrize("type_", TYPES)
def test_creating_with_another_users_id_is_an_id_conflict(
    user_client: Any, other_client: Any, item_id: str, type_: str
) -> None:
    create, _, _ = _fields(type_, item_id)
    theirs = _created(other_client, type_, create)

    result = _result(user_client, op("create", type_, theirs, **create))

    assert result["status"] == "invalid", result
    assert result["error"]["code"] == "id_conflict"


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
    ],
)
def test_bad_profile_data_is_invalid_not_500(
    user_client: Any, profile_change: dict[str, Any], data: dict[str, Any]
) -> None:
    result = _result(
        user_client, op("update", "profile", profile_change["id"], profile_change["version"], **data)
    )

    assert result["status"] == "invalid", result


def test_an_email_pushed_with_the_profile_is_ignored(
    user: Any, user_client: Any, profile_change: dict[str, Any]
) -> None:
    operation = op("update", "profile", profile_change["id"], profile_change["version"])
    data = {"email": "new@example.com", "display_name": "ok"}

    result = _result(user_client, {**operation, "data": data})

    assert result["status"] == "applied", result
    user.refresh_from_db()
    assert user.email != "new@example.com"


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
