from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import User
from core.versioning import BaseVersion
from focus.models import FocusCard
from lists.models import Item
from lists.services import item_delete, item_update, list_delete
from sync import registry
from sync.models import ChangeRecord
from tests.factories import FocusCardFactory, ItemFactory, ListFactory

DAY = "2026-05-04"
CARD = f"/api/v1/focus-card?date={DAY}"


def _items(user: User, n: int) -> list[Item]:
    lst = ListFactory.create(user=user)
    return [ItemFactory.create(list=lst, title=f"T{i}") for i in range(n)]


def _put(
    user_client: APIClient, items: list[Any], headers: dict[str, Any] | None = None, **extra: Any
) -> Any:
    body = {"items": [str(getattr(i, "pk", i)) for i in items], **extra}
    return user_client.put(CARD, body, format="json", **(headers or {}))


def test_a_day_without_a_card_is_focus_card_not_found(user_client: APIClient) -> None:
    response = user_client.get(CARD)
    assert response.status_code == 404
    assert response.json()["code"] == "focus_card_not_found"


def test_put_creates_a_manual_card_with_the_items_in_order(user_client: APIClient, user: User) -> None:
    a, b, c = _items(user, 3)
    response = _put(user_client, [c, a, b], intention="Ship it")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["date"] == DAY
    assert body["source"] == "manual"
    assert body["intention"] == "Ship it"
    assert [e["item"] for e in body["items"]] == [str(c.pk), str(a.pk), str(b.pk)]
    assert [e["position"] for e in body["items"]] == [0, 1, 2]
    assert body["items"][0] == {
        "item": str(c.pk),
        "title": "T2",
        "status": "open",
        "priority": 3,
        "due_date": None,
        "position": 0,
    }
    assert body["done_count"] == 0
    assert body["version"] == 1
    assert response["ETag"] == '"1"'
    assert user_client.get(CARD).json() == body


def test_replacing_a_card_follows_the_version_rules(user_client: APIClient, user: User) -> None:
    a, b = _items(user, 2)
    assert _put(user_client, [a]).status_code == 201
    assert _put(user_client, [b]).status_code == 428
    replaced = _put(user_client, [b], version=1)
    assert replaced.status_code == 200
    assert [e["item"] for e in replaced.json()["items"]] == [str(b.pk)]
    assert replaced.json()["version"] == 2
    stale = _put(user_client, [a], version=1)
    assert stale.status_code == 409
    assert "items" in stale.json()["conflicting_fields"]
    assert _put(user_client, [a], headers={"HTTP_IF_MATCH": '"1"'}).status_code == 412


def test_put_and_patch_accept_an_item_of_an_archived_list(user_client: APIClient, user: User) -> None:
    """A deliberate choice (docs/focus.md): generation skips archived lists, a user's own plan may not."""
    archived = ListFactory.create(user=user, archived=True)
    planned = ItemFactory.create(list=archived)
    other = ItemFactory.create(list=archived)

    created = _put(user_client, [planned])
    patched = user_client.patch(
        CARD, {"items": [str(other.pk), str(planned.pk)], "version": 1}, format="json"
    )

    assert created.status_code == 201, created.json()
    assert patched.status_code == 200, patched.json()
    assert [e["item"] for e in patched.json()["items"]] == [str(other.pk), str(planned.pk)]


def test_put_rejects_another_users_item_without_saying_it_exists(
    user_client: APIClient, user: User, other_user: User
) -> None:
    (mine,) = _items(user, 1)
    (theirs,) = _items(other_user, 1)
    response = _put(user_client, [mine, theirs])
    assert response.status_code == 400
    assert response.json()["errors"] == {"items": ["No such item."]}
    assert not FocusCard.objects.exists()


@pytest.mark.parametrize(
    "items", [["not-a-uuid"], [1], "abc", [{"item": "x"}]], ids=["text", "number", "string", "object"]
)
def test_put_rejects_malformed_item_references(user_client: APIClient, items: Any) -> None:
    assert user_client.put(CARD, {"items": items}, format="json").status_code == 400


def test_put_rejects_an_item_twice(user_client: APIClient, user: User) -> None:
    (a,) = _items(user, 1)
    assert _put(user_client, [a, a]).status_code == 400


def test_put_accepts_entries_as_the_card_showed_them(user_client: APIClient, user: User) -> None:
    a, b = _items(user, 2)
    card = _put(user_client, [a, b]).json()
    card["items"].reverse()
    response = user_client.put(CARD, card, format="json")
    assert response.status_code == 200, response.json()
    assert [e["item"] for e in response.json()["items"]] == [str(b.pk), str(a.pk)]


def test_patch_reorders_and_changes_the_intention(user_client: APIClient, user: User) -> None:
    a, b = _items(user, 2)
    _put(user_client, [a, b])
    response = user_client.patch(
        CARD, {"version": 1, "items": [str(b.pk), str(a.pk)], "intention": "x"}, format="json"
    )
    assert response.status_code == 200
    assert [e["item"] for e in response.json()["items"]] == [str(b.pk), str(a.pk)]
    assert response.json()["intention"] == "x"
    assert response.json()["version"] == 2
    merged = user_client.patch(CARD, {"version": 1, "intention": "y"}, format="json")
    assert merged.status_code == 409  # intention changed after version 1
    assert user_client.patch(CARD, {"intention": "z"}, format="json").status_code == 428


def test_patch_of_a_missing_card_is_focus_card_not_found(user_client: APIClient) -> None:
    response = user_client.patch(CARD, {"version": 1, "intention": "x"}, format="json")
    assert response.status_code == 404
    assert response.json()["code"] == "focus_card_not_found"


def test_an_entry_shows_its_items_live_status_without_a_new_card_version(
    user_client: APIClient, user: User
) -> None:
    a, b = _items(user, 2)
    _put(user_client, [a, b])
    item_update(user=user, item_id=a.pk, base=BaseVersion(version=a.version), data={"status": "done"})
    body = user_client.get(CARD).json()
    assert [e["status"] for e in body["items"]] == ["done", "open"]
    assert body["done_count"] == 1
    assert body["version"] == 1


def test_deleting_an_item_removes_its_entry_as_a_new_card_version(user_client: APIClient, user: User) -> None:
    a, b, c = _items(user, 3)
    card_id = _put(user_client, [a, b, c]).json()["id"]
    item_delete(user=user, item_id=b.pk, base=BaseVersion(version=b.version))
    body = user_client.get(CARD).json()
    assert [e["item"] for e in body["items"]] == [str(a.pk), str(c.pk)]
    assert [e["position"] for e in body["items"]] == [0, 1]
    assert body["version"] == 2
    record = ChangeRecord.objects.get(entity_id=card_id, version=2)
    assert record.fields == ["items"]


def test_deleting_a_list_removes_its_items_from_cards(user_client: APIClient, user: User) -> None:
    a, b = _items(user, 2)
    (other,) = _items(user, 1)
    _put(user_client, [a, other, b])
    lst = a.list
    lst.refresh_from_db()
    list_delete(user=user, list_id=lst.pk, base=BaseVersion(version=lst.version))
    body = user_client.get(CARD).json()
    assert [e["item"] for e in body["items"]] == [str(other.pk)]
    assert body["version"] == 2


def test_another_users_card_is_invisible(user_client: APIClient, other_client: APIClient, user: User) -> None:
    (a,) = _items(user, 1)
    _put(user_client, [a])
    assert other_client.get(CARD).status_code == 404
    assert other_client.patch(CARD, {"version": 1, "intention": "x"}, format="json").status_code == 404
    assert other_client.get(f"/api/v1/focus-cards?from={DAY}&to={DAY}").json()["results"] == []
    created = other_client.put(CARD, {"items": []}, format="json")
    assert created.status_code == 201  # their own, separate card for that day
    assert user_client.get(CARD).json()["items"][0]["item"] == str(a.pk)


@pytest.mark.parametrize(
    "query",
    ["date=2026-02-30", "date=yesterday", "date=20260101", "date=0001-01-01", "date=2026-1-1"],
)
def test_bad_dates_are_400(user_client: APIClient, query: str) -> None:
    response = user_client.get(f"/api/v1/focus-card?{query}")
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


@pytest.mark.usefixtures("far_from_midnight")
def test_an_empty_date_is_not_today_but_a_400_and_changes_nothing(user_client: APIClient, user: User) -> None:
    today = "/api/v1/focus-card"
    card = user_client.put(today, {"items": [str(i.pk) for i in _items(user, 2)]}, format="json").json()

    empty = user_client.get(f"{today}?date=")
    patched = user_client.patch(f"{today}?date=", {"intention": "changed", "version": 1}, format="json")

    assert empty.json()["errors"] == {"date": ["Must be a date as YYYY-MM-DD."]}
    assert patched.status_code == 400
    assert user_client.get(today).json() == card


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-01-02&to=2026-01-01",
        "from=2025-01-01&to=2026-01-02",
        "from=2026-01-01",
        "to=2026-01-01",
        "",
        "from=x&to=2026-01-01",
        "from=&to=2026-01-01",
    ],
)
def test_bad_ranges_are_400(user_client: APIClient, query: str) -> None:
    assert user_client.get(f"/api/v1/focus-cards?{query}").status_code == 400


def test_a_range_of_366_days_is_accepted(user_client: APIClient) -> None:
    assert user_client.get("/api/v1/focus-cards?from=2024-01-01&to=2024-12-31").status_code == 200


@pytest.mark.parametrize(
    "body",
    [{"size": 0}, {"size": 11}, {"size": "many"}, {"date": "2026-13-01"}, {"extra": 1}, {"regenerate": "x"}],
)
def test_generate_rejects_bad_input(user_client: APIClient, body: dict[str, Any]) -> None:
    response = user_client.post("/api/v1/focus-card/generate", body, format="json")
    assert response.status_code == 400
    assert not FocusCard.objects.exists()


def test_generate_answers_201_then_200_with_the_same_card(user_client: APIClient, user: User) -> None:
    _items(user, 4)
    first = user_client.post("/api/v1/focus-card/generate", {"date": DAY}, format="json")
    assert first.status_code == 201
    assert first.json()["source"] == "generated"
    assert len(first.json()["items"]) == 3
    again = user_client.post("/api/v1/focus-card/generate", {"date": DAY, "size": 1}, format="json")
    assert again.status_code == 200
    assert again.json() == first.json()


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/focus-card"),
        ("put", "/api/v1/focus-card"),
        ("patch", "/api/v1/focus-card"),
        ("post", "/api/v1/focus-card/generate"),
        ("get", "/api/v1/focus-cards?from=2026-01-01&to=2026-01-02"),
    ],
)
def test_focus_endpoints_require_authentication(
    api_client: APIClient, db: Any, method: str, path: str
) -> None:
    response = getattr(api_client, method)(path, {}, format="json")
    assert response.status_code == 401


@pytest.mark.parametrize("cards", [5, 50])
def test_the_range_costs_the_same_queries_for_5_and_50_cards(
    user_client: APIClient, user: User, cards: int
) -> None:
    items = _items(user, 3)
    for n in range(cards):
        FocusCardFactory.create(user=user, date=date(2026, 1, 1) + timedelta(days=n), items=items)
    with CaptureQueriesContext(connection) as queries:
        response = user_client.get("/api/v1/focus-cards?from=2026-01-01&to=2026-12-31")
    assert len(response.json()["results"]) == cards
    assert [c["date"] for c in response.json()["results"]] == sorted(
        c["date"] for c in response.json()["results"]
    )
    # 1 the user of the access token, 2 the cards of the range, 3 their entries with their items.
    assert len(queries) == 3, [q["sql"] for q in queries.captured_queries]


def test_the_sync_data_of_a_card_holds_item_ids_in_order_and_nothing_derived(user: User) -> None:
    a, b = _items(user, 2)
    card = FocusCardFactory.create(user=user, items=[b, a])
    sync_type = registry.get("focus_card")
    assert sync_type is not None
    data = sync_type.to_data(card)
    assert data["items"] == [str(b.pk), str(a.pk)]
    assert "done_count" not in data
    assert set(data) == {"id", "date", "intention", "source", "items", "version", "created_at", "updated_at"}


@pytest.mark.django_db
def test_a_put_that_creates_a_card_rejects_a_null_version(user_client: APIClient) -> None:
    response = user_client.put(
        "/api/v1/focus-card?date=2026-05-29", {"intention": "", "items": [], "version": None}
    )
    assert response.status_code == 400
    assert "version" in response.json()["errors"]
    assert not FocusCard.objects.exists()
