"""POST sync: offline operations through the same services as REST, one by one, with stored results."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from accounts.models import Profile
from core.versioning import BaseVersion
from lists.models import Item, List
from lists.services import item_delete, item_update
from sync.models import ChangeRecord, ProcessedOperation, Space
from tests.sync.helpers import SYNC_URL, make_item, make_list, op, position, pull, push

pytestmark = pytest.mark.django_db


def _results(response: Any) -> list[dict[str, Any]]:
    assert response.status_code == 200, response.content
    return list(response.json()["results"])


def test_it_creates_a_list_and_an_item_referring_to_it_in_one_batch(user: Any, user_client: Any) -> None:
    list_id, item_id = uuid.uuid4(), uuid.uuid4()

    results = _results(
        push(
            user_client,
            [
                op("create", "list", list_id, name="Offline"),
                op("create", "item", item_id, list=str(list_id), title="Buy milk"),
            ],
        )
    )

    assert [r["status"] for r in results] == ["applied", "applied"]
    assert results[0]["entity"]["id"] == str(list_id)
    assert results[0]["entity"]["version"] == 1
    assert results[1]["entity"]["list"] == str(list_id)
    assert Item.objects.get(pk=item_id).user_id == user.pk


def test_the_answer_also_pulls_changes_since_the_cursor(user: Any, user_client: Any) -> None:
    existing = make_list(user=user)
    cursor = pull(user_client)["cursor"]
    new_id = uuid.uuid4()

    answer = push(user_client, [op("create", "list", new_id, name="New")], cursor=cursor).json()

    assert [c["id"] for c in answer["changes"]] == [str(new_id)]
    assert position(user, answer["cursor"]) == Space.objects.get(user=user).last_change_number
    assert answer["has_more"] is False
    full = push(user_client, []).json()
    profile = str(Profile.objects.get(user=user).pk)
    assert {c["id"] for c in full["changes"]} == {profile, str(existing.pk), str(new_id)}


def test_an_update_with_the_current_version_is_applied(user: Any, user_client: Any) -> None:
    item = make_item(list=make_list(user=user))

    [result] = _results(push(user_client, [op("update", "item", item.pk, 1, title="Renamed")]))

    assert result["status"] == "applied"
    assert result["entity"]["title"] == "Renamed"
    assert result["entity"]["version"] == 2


def test_a_stale_update_of_other_fields_is_merged(user: Any, user_client: Any) -> None:
    item = make_item(list=make_list(user=user))
    item_update(user=user, item_id=item.pk, base=BaseVersion(1), data={"notes": "server side"})

    [result] = _results(push(user_client, [op("update", "item", item.pk, 1, title="Client side")]))

    assert result["status"] == "merged"
    assert result["entity"]["title"] == "Client side"
    assert result["entity"]["notes"] == "server side"
    assert result["entity"]["version"] == 3


def test_a_stale_update_of_the_same_field_is_a_conflict_with_the_current_entity(
    user: Any, user_client: Any
) -> None:
    item = make_item(list=make_list(user=user), title="Original")
    item_update(user=user, item_id=item.pk, base=BaseVersion(1), data={"title": "Server"})

    [result] = _results(push(user_client, [op("update", "item", item.pk, 1, title="Client")]))

    assert result["status"] == "conflict"
    assert result["error"]["code"] == "version_conflict"
    assert result["error"]["conflicting_fields"] == ["title"]
    assert result["error"]["current"]["title"] == "Server"
    assert result["error"]["current"]["version"] == 2
    assert Item.objects.get(pk=item.pk).title == "Server"


def test_a_stale_delete_is_a_conflict(user: Any, user_client: Any) -> None:
    item = make_item(list=make_list(user=user))
    item_update(user=user, item_id=item.pk, base=BaseVersion(1), data={"title": "Server"})

    [result] = _results(push(user_client, [op("delete", "item", item.pk, 1)]))

    assert result["status"] == "conflict"
    assert result["error"]["current"]["version"] == 2
    assert Item.objects.filter(pk=item.pk).exists()


def test_deleting_something_already_gone_is_applied(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    item = make_item(list=lst)
    item_delete(user=user, item_id=item.pk, base=BaseVersion(1))

    [result] = _results(push(user_client, [op("delete", "item", item.pk, 1)]))

    assert result == {"op_id": result["op_id"], "status": "applied"}


def test_a_list_result_shows_its_open_count_like_the_rest_endpoint(user: Any, user_client: Any) -> None:
    lst = make_list(user=user)
    make_item(list=lst)

    [result] = _results(push(user_client, [op("update", "list", lst.pk, 1, name="Renamed")]))

    assert result["entity"] == user_client.get(f"/api/v1/lists/{lst.pk}").json()
    assert result["entity"]["open_count"] == 1


def test_a_retried_create_with_the_same_content_is_applied_again(user: Any, user_client: Any) -> None:
    list_id = uuid.uuid4()
    push(user_client, [op("create", "list", list_id, name="Once")])

    [result] = _results(push(user_client, [op("create", "list", list_id, name="Once")]))

    assert result["status"] == "applied"
    assert List.objects.filter(pk=list_id).count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "unicorn"}, "type"),
        ({"type": 7}, "type"),
        ({"action": "explode"}, "action"),
        ({"id": "not-a-uuid"}, "id"),
        ({"id": None}, "id"),
        ({"data": {"title": "x", "colour": "red"}}, "colour"),
        ({"data": {"title": ""}}, "title"),
        ({"data": {"priority": 9}}, "priority"),
        ({"data": "a string"}, "data"),
        ({"version": "three"}, "version"),
        ({"extra": 1}, "extra"),
    ],
)
def test_an_invalid_operation_is_reported_and_the_ones_around_it_are_applied(
    user: Any, user_client: Any, change: dict[str, Any], field: str
) -> None:
    item = make_item(list=make_list(user=user))
    before, after = uuid.uuid4(), uuid.uuid4()
    bad = {**op("update", "item", item.pk, 1, title="changed"), **change}

    results = _results(
        push(
            user_client,
            [
                op("create", "list", before, name="Before"),
                bad,
                op("create", "list", after, name="After"),
            ],
        )
    )

    assert [r["status"] for r in results] == ["applied", "invalid", "applied"]
    assert field in results[1]["error"]["errors"]
    assert Item.objects.get(pk=item.pk).version == 1


@pytest.mark.parametrize("action", ["update", "delete"])
def test_an_update_or_delete_without_version_is_invalid(user: Any, user_client: Any, action: str) -> None:
    item = make_item(list=make_list(user=user))
    operation = op(action, "item", item.pk, title="x") if action == "update" else op(action, "item", item.pk)

    [result] = _results(push(user_client, [operation]))

    assert result["status"] == "invalid"
    assert result["error"]["code"] == "version_required"


def test_an_operation_without_a_usable_op_id_is_invalid_and_not_stored(user: Any, user_client: Any) -> None:
    operation = {**op("create", "list", uuid.uuid4(), name="x"), "op_id": "nope"}

    [result] = _results(push(user_client, [operation]))

    assert result["status"] == "invalid"
    assert "op_id" in result["error"]["errors"]
    assert not ProcessedOperation.objects.exists()
    assert not List.objects.filter(user=user).exists()


def test_an_operation_that_is_not_an_object_is_invalid(user_client: Any) -> None:
    [result] = _results(push(user_client, ["a string"]))  # type: ignore[list-item]

    assert result["status"] == "invalid"
    assert result["op_id"] is None


@pytest.mark.parametrize("action", ["update", "delete"])
def test_another_users_id_reveals_nothing_and_changes_nothing(
    user: Any, user_client: Any, other_user: Any, action: str
) -> None:
    theirs = make_item(list=make_list(user=other_user))
    data = {"title": "mine now"} if action == "update" else {}

    [foreign] = _results(push(user_client, [op(action, "item", theirs.pk, 1, **data)]))
    [missing] = _results(push(user_client, [op(action, "item", uuid.uuid4(), 1, **data)]))

    assert foreign["status"] == missing["status"] == "invalid"
    assert foreign["error"] == missing["error"]
    assert foreign["error"]["code"] == "not_found"
    stored = Item.objects.get(pk=theirs.pk)
    assert (stored.title, stored.version) == (theirs.title, 1)


def test_creating_with_another_users_id_is_an_id_conflict_that_reveals_nothing(
    user: Any, user_client: Any, other_user: Any
) -> None:
    theirs = make_list(user=other_user, name="Secret")
    mine = make_list(user=user, name="Mine")

    [foreign] = _results(push(user_client, [op("create", "list", theirs.pk, name="Secret")]))
    [own] = _results(push(user_client, [op("create", "list", mine.pk, name="Other content")]))

    assert foreign["status"] == own["status"] == "invalid"
    assert foreign["error"] == own["error"]
    assert foreign["error"]["code"] == "id_conflict"
    assert List.objects.get(pk=theirs.pk).user_id == other_user.pk


def test_an_item_in_another_users_list_is_invalid(user: Any, user_client: Any, other_user: Any) -> None:
    theirs = make_list(user=other_user)

    [result] = _results(
        push(user_client, [op("create", "item", uuid.uuid4(), list=str(theirs.pk), title="x")])
    )

    assert result["status"] == "invalid"
    assert "list" in result["error"]["errors"]
    assert not Item.objects.filter(list=theirs).exists()


def test_replaying_a_batch_changes_nothing_and_returns_the_first_results(user: Any, user_client: Any) -> None:
    item = make_item(list=make_list(user=user))
    batch = [
        op("create", "list", uuid.uuid4(), name="Once"),
        op("update", "item", item.pk, 1, title="Renamed"),
        op("update", "item", item.pk, 1, title="Conflicting"),
        op("delete", "list", uuid.uuid4(), 1),
    ]
    first = _results(push(user_client, batch))
    head = Space.objects.get(user=user).last_change_number
    records = ChangeRecord.objects.count()

    replay = _results(push(user_client, batch))

    assert replay == first
    assert [r["status"] for r in first] == ["applied", "applied", "conflict", "invalid"]
    assert Space.objects.get(user=user).last_change_number == head
    assert ChangeRecord.objects.count() == records
    assert List.objects.filter(user=user).count() == 2
    assert Item.objects.get(pk=item.pk).version == 2


def test_the_same_op_id_twice_in_one_batch_runs_once(user: Any, user_client: Any) -> None:
    item = make_item(list=make_list(user=user))
    operation = op("update", "item", item.pk, 1, priority=1)

    first, second = _results(push(user_client, [operation, operation]))

    assert first == second
    assert Item.objects.get(pk=item.pk).version == 2


def test_op_ids_are_per_user(user: Any, user_client: Any, other_user: Any, other_client: Any) -> None:
    operation = op("create", "list", uuid.uuid4(), name="x")
    _results(push(user_client, [operation]))

    [result] = _results(push(other_client, [{**operation, "id": str(uuid.uuid4())}]))

    assert result["status"] == "applied"
    assert List.objects.filter(user=other_user).count() == 1


def test_101_operations_are_refused_and_none_runs(user: Any, user_client: Any) -> None:
    operations = [op("create", "list", uuid.uuid4(), name=f"L{i}") for i in range(101)]

    response = push(user_client, operations)

    assert response.status_code == 400
    assert "operations" in response.json()["errors"]
    assert not List.objects.filter(user=user).exists()


def test_100_operations_are_accepted(user: Any, user_client: Any) -> None:
    operations = [op("create", "list", uuid.uuid4(), name=f"L{i}") for i in range(100)]

    assert [r["status"] for r in _results(push(user_client, operations))] == ["applied"] * 100


def test_a_body_over_1_mib_is_a_413(user_client: Any) -> None:
    operations = [op("create", "list", uuid.uuid4(), name="x" * 200) for _ in range(100)]
    for operation in operations:
        operation["data"]["notes_padding"] = "x" * 11_000

    response = push(user_client, operations)

    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large"
    assert not List.objects.exists()


@pytest.mark.parametrize(
    "body",
    [[], {"operations": "x"}, {"operations": [], "extra": 1}, {"operations": [], "cursor": "abc"}],
)
def test_a_malformed_body_is_a_400(user_client: Any, body: Any) -> None:
    response = user_client.post(SYNC_URL, body, format="json")

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_an_expired_cursor_is_refused_before_any_operation_runs(user: Any, user_client: Any) -> None:
    for _ in range(3):
        make_list(user=user)
    Space.objects.filter(user=user).update(pruned_through=3)

    response = push(user_client, [op("create", "list", uuid.uuid4(), name="x")], cursor=1)

    assert response.status_code == 410
    assert List.objects.filter(user=user).count() == 3


def test_push_requires_authentication(api_client: Any) -> None:
    response = api_client.post(SYNC_URL, {"operations": []}, format="json")

    assert response.status_code == 401


@pytest.mark.parametrize(
    "hostile",
    [
        lambda operation: operation["data"].__setitem__("bad\x00name", 1),  # an unknown member, echoed
        lambda operation: operation["data"].__setitem__("status", "do\x00ne"),  # a choice, echoed
        lambda operation: operation.__setitem__("odd\x00member", 1),  # an unknown operation member
    ],
)
def test_a_nul_character_echoed_in_an_error_is_stored_and_answered_without_it(
    user: Any, user_client: Any, hostile: Any
) -> None:
    # PostgreSQL cannot store NUL in a JSON result; it used to be a 500 that rolled the whole push back.
    a_list = make_list(user=user)
    kept = op("create", "item", uuid.uuid4(), list=str(a_list.pk), title="kept")
    refused = op("create", "item", uuid.uuid4(), list=str(a_list.pk), title="x")
    hostile(refused)

    response = push(user_client, [kept, refused])

    assert response.status_code == 200, response.content
    kept_result, refused_result = _results(response)
    assert kept_result["status"] == "applied"
    assert refused_result["status"] == "invalid"
    assert "\x00" not in response.content.decode()
    assert "\\u0000" not in response.content.decode()
    stored = ProcessedOperation.objects.get(user_id=user.pk, op_id=refused["op_id"]).result
    assert stored == refused_result
    assert push(user_client, [refused]).json()["results"] == [refused_result]  # a replay answers the same
