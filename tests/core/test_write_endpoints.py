"""Every write endpoint against a read-only key, Idempotency-Key on every POST (auth/* included), and
hostile queries and bodies on the workflow endpoints: 4xx problems, never a 500."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.services.api_keys import api_key_create
from focus.models import FocusCard
from lists.models import List
from tests.portability.helpers import exported
from tests.sync.helpers import make_item, make_list

pytestmark = pytest.mark.django_db


def _key_client(user: Any, scopes: list[str]) -> APIClient:
    _, key = api_key_create(user=user, name="k", scopes=scopes)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


WRITES = [
    ("post", "/api/v1/sync", {"operations": []}),
    ("post", "/api/v1/user/import", {"document": {}, "mode": "merge"}),
    ("delete", "/api/v1/user", {"password": "x"}),
    ("post", "/api/v1/focus-card/generate", {}),
    ("put", "/api/v1/focus-card", {"items": []}),
    ("patch", "/api/v1/focus-card", {"intention": "x", "version": 1}),
    ("post", "/api/v1/anti-todo", {"title": "x"}),
    ("patch", "/api/v1/user/profile", {"display_name": "x", "version": 1}),
    ("post", "/api/v1/user/api-keys", {"name": "x", "scopes": ["read"]}),
    ("post", "/api/v1/auth/logout-all", {}),
    ("post", "/api/v1/auth/password/change", {"current_password": "x", "new_password": "y"}),
]


@pytest.mark.parametrize(("method", "url", "body"), WRITES)
def test_a_read_key_is_refused_on_every_write(user: Any, method: str, url: str, body: Any) -> None:
    client = _key_client(user, ["read"])

    response = getattr(client, method)(url, body, format="json")

    assert response.status_code == 403, (url, response.content)
    assert response["Content-Type"] == "application/problem+json"
    assert not FocusCard.objects.exists()
    user.refresh_from_db()
    assert user.is_active


def test_generate_with_an_idempotency_key_replays(user: Any, user_client: Any) -> None:
    make_item(list=make_list(user=user))
    first = user_client.post("/api/v1/focus-card/generate", {}, format="json", HTTP_IDEMPOTENCY_KEY="g1")
    again = user_client.post("/api/v1/focus-card/generate", {}, format="json", HTTP_IDEMPOTENCY_KEY="g1")
    other = user_client.post(
        "/api/v1/focus-card/generate", {"size": 2}, format="json", HTTP_IDEMPOTENCY_KEY="g1"
    )

    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert other.status_code == 422


def test_import_with_an_idempotency_key_replays(user: Any, user_client: Any) -> None:
    document = exported(user_client)
    document["lists"] = [
        {"id": str(uuid.uuid4()), "name": "Imported", "color": None, "position": 0, "archived": False}
    ]
    body = {"document": document, "mode": "merge"}
    first = user_client.post("/api/v1/user/import", body, format="json", HTTP_IDEMPOTENCY_KEY="i1")
    again = user_client.post("/api/v1/user/import", body, format="json", HTTP_IDEMPOTENCY_KEY="i1")

    assert first.status_code == 200, first.content
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert List.objects.filter(user=user).count() == 1


def test_register_with_an_idempotency_key_replays(api_client: APIClient) -> None:
    body = {"email": "new@example.com", "password": "a long enough passphrase 42"}
    first = api_client.post("/api/v1/auth/register", body, format="json", HTTP_IDEMPOTENCY_KEY="r1")
    again = api_client.post("/api/v1/auth/register", body, format="json", HTTP_IDEMPOTENCY_KEY="r1")

    assert first.status_code == 201, first.content
    assert again.status_code == 201, again.content
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()


def test_a_refresh_retried_with_its_idempotency_key_gets_the_same_tokens(
    api_client: APIClient, user: Any
) -> None:
    from accounts.services.sessions import session_tokens

    refresh = session_tokens(user=user)["refresh"]
    first = api_client.post(
        "/api/v1/auth/token/refresh", {"refresh": refresh}, format="json", HTTP_IDEMPOTENCY_KEY="f1"
    )
    again = api_client.post(
        "/api/v1/auth/token/refresh", {"refresh": refresh}, format="json", HTTP_IDEMPOTENCY_KEY="f1"
    )
    other = api_client.post(
        "/api/v1/auth/token/refresh", {"refresh": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="f1"
    )

    assert first.status_code == 200, first.content
    assert again.status_code == 200, again.content
    assert again.json() == first.json()
    assert other.status_code == 422


HOSTILE_GETS = [
    "/api/v1/focus-card?date=2026-02-30",
    "/api/v1/focus-card?date=%00",
    "/api/v1/focus-card?date=99999-01-01",
    "/api/v1/focus-cards?from=2026-01-01&to=2030-01-01",
    "/api/v1/focus-cards?from=2026-01-01",
    "/api/v1/focus-cards?from=0001-01-01&to=0001-01-02",
    "/api/v1/anti-todo?date=2026-13-01",
    "/api/v1/anti-todo?from=2026-01-01&to=2028-01-01",
    "/api/v1/anti-todo?from=2026-01-05&to=2026-01-01",
    "/api/v1/anti-todo?from=%00&to=2026-01-01",
    "/api/v1/user/insights?from=2020-01-01&to=2026-01-01",
    "/api/v1/user/insights?from=abc",
    "/api/v1/user/insights?to=9999-12-31",
    "/api/v1/sync?cursor=-1",
    "/api/v1/sync?cursor=%00",
    "/api/v1/sync?cursor=99999999999999999999999",
    "/api/v1/sync?limit=-5",
    "/api/v1/sync?limit=abc",
    "/api/v1/items?ordering=title",
    "/api/v1/items?due_before=2026-02-30",
    "/api/v1/items?q=%00",
    "/api/v1/items?list=not-a-uuid",
    "/api/v1/anti-todo/not-a-uuid",
]


@pytest.mark.parametrize("url", HOSTILE_GETS)
def test_hostile_queries_are_4xx_problems(user_client: Any, url: str) -> None:
    response = user_client.get(url)

    assert 400 <= response.status_code < 500, (url, response.status_code, response.content[:300])
    assert response["Content-Type"] == "application/problem+json"


HOSTILE_WRITES = [
    ("post", "/api/v1/focus-card/generate", {"date": "2026-02-30"}),
    ("post", "/api/v1/focus-card/generate", {"date": "9999-12-31"}),
    ("post", "/api/v1/focus-card/generate", {"size": 0}),
    ("post", "/api/v1/focus-card/generate", {"size": "3"}),
    ("post", "/api/v1/focus-card/generate", {"regenerate": "yes"}),
    ("post", "/api/v1/focus-card/generate", {"date": None}),
    ("post", "/api/v1/focus-card/generate", ["x"]),
    ("put", "/api/v1/focus-card", {"items": ["not-a-uuid"]}),
    ("put", "/api/v1/focus-card", {"items": [None]}),
    ("put", "/api/v1/focus-card", {"items": "x"}),
    ("put", "/api/v1/focus-card", {"items": [], "intention": "\x00"}),
    ("put", "/api/v1/focus-card", {"items": [{"item": 5}]}),
    ("put", "/api/v1/focus-card", {"items": [], "intention": "x" * 501}),
    ("put", "/api/v1/focus-card", [1, 2]),
    ("put", "/api/v1/focus-card?date=2026-02-30", {"items": []}),
    ("post", "/api/v1/anti-todo", {"title": "x", "date": "2026-02-30"}),
    ("post", "/api/v1/anti-todo", {"title": "\x00"}),
    ("post", "/api/v1/anti-todo", {"title": "x", "item": "nope"}),
    ("post", "/api/v1/anti-todo", {"title": "x", "id": 5}),
    ("post", "/api/v1/anti-todo", {"title": "x", "note": None}),
    ("post", "/api/v1/anti-todo", {"title": "x", "date": None}),
    ("post", "/api/v1/anti-todo", {"title": ["x"]}),
    ("patch", "/api/v1/user/profile", {"timezone": "\x00", "version": 1}),
    ("patch", "/api/v1/user/profile", {"timezone": "../../etc/passwd", "version": 1}),
    ("patch", "/api/v1/user/profile", {"timezone": "", "version": 1}),
    ("patch", "/api/v1/user/profile", {"timezone": None, "version": 1}),
    ("patch", "/api/v1/user/profile", {"display_name": None, "version": 1}),
    ("patch", "/api/v1/user/profile", {"preferences": None, "version": 1}),
    ("patch", "/api/v1/user/profile", {"preferences": [], "version": 1}),
    ("patch", "/api/v1/user/profile", {"preferences": {"focus_size": True}, "version": 1}),
    ("patch", "/api/v1/user/profile", {"onboarding": {"completed_steps": "add_item"}, "version": 1}),
    ("patch", "/api/v1/user/profile", {"onboarding": {"completed_steps": None}, "version": 1}),
    ("patch", "/api/v1/user/profile", {"onboarding": {"completed_at": "2026-01-01"}, "version": 1}),
    ("patch", "/api/v1/user/profile", {"onboarding": None, "version": 1}),
    ("patch", "/api/v1/user/profile", {"version": "1"}),
    ("patch", "/api/v1/user/profile", {"version": 0}),
    ("post", "/api/v1/user/import", {"document": "x", "mode": "merge"}),
    ("post", "/api/v1/user/import", {"document": [], "mode": "merge"}),
    ("post", "/api/v1/user/import", {"document": {}, "mode": "nuke"}),
    (
        "post",
        "/api/v1/user/import",
        {"document": {"format": "daymark-export", "format_version": 1, "lists": "x"}, "mode": "merge"},
    ),
    (
        "post",
        "/api/v1/user/import",
        {"document": {"format": "daymark-export", "format_version": 1, "lists": [None]}, "mode": "merge"},
    ),
    (
        "post",
        "/api/v1/user/import",
        {
            "document": {"format": "daymark-export", "format_version": 1, "items": [{"id": 1}]},
            "mode": "merge",
        },
    ),
    (
        "post",
        "/api/v1/user/import",
        {"document": {"format": "daymark-export", "format_version": True}, "mode": "merge"},
    ),
    (
        "post",
        "/api/v1/user/import",
        {"document": {"format": "daymark-export", "format_version": 1, "profile": "x"}, "mode": "merge"},
    ),
    (
        "post",
        "/api/v1/user/import",
        {
            "document": {
                "format": "daymark-export",
                "format_version": 1,
                "profile": {"timezone": "Nowhere/X"},
            },
            "mode": "merge",
        },
    ),
    (
        "post",
        "/api/v1/user/import",
        {
            "document": {
                "format": "daymark-export",
                "format_version": 1,
                "focus_cards": [{"date": "2026-01-01", "items": ["x"]}],
            },
            "mode": "merge",
        },
    ),
    (
        "post",
        "/api/v1/user/import",
        {
            "document": {
                "format": "daymark-export",
                "format_version": 1,
                "focus_cards": [{"date": "2026-01-01", "items": [{"item": None}]}],
            },
            "mode": "merge",
        },
    ),
    (
        "post",
        "/api/v1/user/import",
        {
            "document": {
                "format": "daymark-export",
                "format_version": 1,
                "focus_cards": [{"date": "2026-01-01", "items": [str(uuid.uuid4())]}],
            },
            "mode": "merge",
        },
    ),
    (
        "post",
        "/api/v1/user/import",
        {
            "document": {
                "format": "daymark-export",
                "format_version": 1,
                "anti_todo": [{"date": "2026-01-01", "title": "x", "item": str(uuid.uuid4())}],
            },
            "mode": "merge",
        },
    ),
    (
        "post",
        "/api/v1/user/import",
        {
            "document": {
                "format": "daymark-export",
                "format_version": 1,
                "focus_cards": [{"date": "2026-01-01", "items": []}, {"date": "2026-01-01", "items": []}],
            },
            "mode": "merge",
        },
    ),
    (
        "post",
        "/api/v1/sync",
        {
            "operations": [
                {
                    "op_id": str(uuid.uuid4()),
                    "type": "list",
                    "action": "update",
                    "id": str(uuid.uuid4()),
                    "version": 2**40,
                    "data": {},
                }
            ]
        },
    ),
    ("delete", "/api/v1/user", {"password": None}),
    ("delete", "/api/v1/user", ["x"]),
    ("delete", "/api/v1/user", {"password": "wrong"}),
]


@pytest.mark.parametrize(("method", "url", "body"), HOSTILE_WRITES)
def test_hostile_writes_are_4xx_problems_or_invalid(
    user: Any, user_client: Any, method: str, url: str, body: Any
) -> None:
    response = getattr(user_client, method)(url, body, format="json")

    assert response.status_code < 500, (url, body, response.content[:500])
    if url.endswith("/sync"):
        assert response.status_code == 400 or response.json()["results"][0]["status"] == "invalid"
    else:
        assert 400 <= response.status_code < 500, (url, body, response.status_code, response.content[:500])
        assert response["Content-Type"] == "application/problem+json"
    user.refresh_from_db()
    assert user.is_active


def test_a_refresh_with_a_stale_bearer_attached_is_replayed_too(api_client: APIClient, user: Any) -> None:
    from accounts.services.sessions import session_tokens

    refresh = session_tokens(user=user)["refresh"]
    api_client.credentials(HTTP_AUTHORIZATION="Bearer expired.or.garbage")
    body = {"refresh": refresh}
    first = api_client.post("/api/v1/auth/token/refresh", body, format="json", HTTP_IDEMPOTENCY_KEY="f2")
    again = api_client.post("/api/v1/auth/token/refresh", body, format="json", HTTP_IDEMPOTENCY_KEY="f2")

    assert first.status_code == again.status_code == 200, again.content
    assert again.json() == first.json()


def test_a_refused_request_without_valid_credentials_is_not_kept(user: Any) -> None:
    from sync.models import IdempotencyKey

    read_only = _key_client(user, ["read"])
    first = read_only.post("/api/v1/lists", {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="ro")
    writer = _key_client(user, ["read", "write"])
    second = writer.post("/api/v1/lists", {"name": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="ro")

    assert first.status_code == 403
    assert second.status_code == 201
    assert not IdempotencyKey.objects.filter(user=None).exists()
