"""Personal API keys: user/api-keys and `Authorization: Api-Key <key>` (docs/api/authentication.md)."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any, cast

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ApiKey, User
from accounts.services.api_keys import api_key_create, api_key_revoke
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/user/api-keys"


def key_client(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
    return client


def make_key(user: User, scopes: list[str] | None = None, **kwargs: Any) -> tuple[ApiKey, str]:
    return api_key_create(user=user, name="cli", scopes=scopes or ["read", "write"], **kwargs)


def assert_unauthorized(response: Any) -> None:
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] in ("authentication_failed", "not_authenticated")
    assert response["WWW-Authenticate"]


class TestCreateAndList:
    def test_it_shows_the_secret_once_and_stores_only_its_hash(self, user_client: APIClient) -> None:
        response = user_client.post(URL, {"name": "laptop", "scopes": ["read"]})
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {
            "id", "name", "prefix", "scopes", "expires_at", "last_used_at", "created_at", "revoked_at", "key",
        }  # fmt: skip
        key = body["key"]
        assert key.startswith(body["prefix"] + "_")
        stored = ApiKey.objects.get(pk=body["id"])
        assert stored.hashed_key != key
        assert key not in stored.hashed_key
        assert stored.hashed_key == hashlib.sha256(key.encode()).hexdigest()
        listed = user_client.get(URL).json()["results"]
        assert [k["id"] for k in listed] == [body["id"]]
        assert "key" not in listed[0]
        assert "hashed_key" not in listed[0]

    def test_the_key_authenticates_its_owner(self, user_client: APIClient, user: User) -> None:
        key = user_client.post(URL, {"name": "laptop", "scopes": ["read"]}).json()["key"]
        assert key_client(key).get("/api/v1/lists").status_code == 200

    def test_another_users_keys_are_invisible(self, user_client: APIClient, other_user: User) -> None:
        make_key(other_user)
        assert user_client.get(URL).json()["results"] == []

    def test_it_needs_authentication(self, api_client: APIClient) -> None:
        assert_unauthorized(api_client.get(URL))
        assert_unauthorized(api_client.post(URL, {"name": "x", "scopes": ["read"]}))

    @pytest.mark.parametrize(
        "body",
        [
            {"name": "x", "scopes": ["read"], "is_admin": True},
            {"name": "x", "scopes": ["write"]},
            {"name": "x", "scopes": ["read", "admin"]},
            {"name": "x", "scopes": []},
            {"name": "x", "scopes": ["read", "read"]},
            {"name": "x", "scopes": "read"},
            {"name": "x" * 101, "scopes": ["read"]},
            {"name": "x" * 100_000, "scopes": ["read"]},
            {"name": "", "scopes": ["read"]},
            {"scopes": ["read"]},
            {"name": "x", "scopes": ["read"], "expires_at": "2001-01-01T00:00:00Z"},
            {"name": "x", "scopes": ["read"], "expires_at": "not a date"},
        ],
    )
    def test_it_rejects_bad_input(self, user_client: APIClient, body: dict[str, Any]) -> None:
        response = user_client.post(URL, body)
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"
        assert not ApiKey.objects.exists()

    def test_a_key_cannot_create_keys(self, user: User) -> None:
        _, key = make_key(user)
        response = key_client(key).post(URL, {"name": "y", "scopes": ["read"]})
        assert response.status_code == 403
        assert response.json()["code"] == "permission_denied"


class TestRevoke:
    def test_it_revokes_the_callers_key(self, user_client: APIClient, user: User) -> None:
        api_key, key = make_key(user)
        assert user_client.delete(f"{URL}/{api_key.pk}").status_code == 204
        api_key.refresh_from_db()
        assert api_key.revoked_at is not None
        assert user_client.get(URL).json()["results"][0]["revoked_at"] is not None
        assert_unauthorized(key_client(key).get("/api/v1/lists"))

    def test_another_users_key_is_not_found(self, user_client: APIClient, other_user: User) -> None:
        api_key, key = make_key(other_user)
        response = user_client.delete(f"{URL}/{api_key.pk}")
        assert response.status_code == 404
        assert response.json()["code"] == "not_found"
        assert key_client(key).get("/api/v1/lists").status_code == 200

    def test_it_needs_authentication(self, api_client: APIClient, user: User) -> None:
        api_key, _ = make_key(user)
        assert_unauthorized(api_client.delete(f"{URL}/{api_key.pk}"))

    def test_a_malformed_id_is_not_found(self, user_client: APIClient) -> None:
        assert user_client.delete(f"{URL}/not-a-uuid").status_code == 404


class TestAuthentication:
    def test_it_rejects_a_revoked_key(self, user: User) -> None:
        api_key, key = make_key(user)
        api_key_revoke(api_key=api_key)
        assert_unauthorized(key_client(key).get("/api/v1/lists"))

    def test_it_rejects_an_expired_key(self, user: User) -> None:
        api_key, key = make_key(user, expires_at=timezone.now() + timedelta(seconds=60))
        ApiKey.objects.filter(pk=api_key.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
        assert_unauthorized(key_client(key).get("/api/v1/lists"))

    @pytest.mark.parametrize(
        "header",
        [
            "Api-Key",
            "Api-Key a b",
            "Api-Key dmk_short",
            "Api-Key " + "x" * 5000,
            "Api-Key dmk_zzzzzzzzzzzz_" + "a" * 43,
        ],
    )
    def test_it_rejects_a_malformed_key(self, user: User, header: str) -> None:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=header)
        assert_unauthorized(client.get("/api/v1/lists"))

    def test_it_rejects_an_unknown_key(self, user: User) -> None:
        _, key = make_key(user)
        forged = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")
        assert_unauthorized(key_client(forged).get("/api/v1/lists"))
        assert_unauthorized(key_client("dmk_0123456789ab_" + "A" * 43).get("/api/v1/lists"))

    def test_it_rejects_the_key_of_a_deactivated_user(self, user: User) -> None:
        _, key = make_key(user)
        user.is_active = False
        user.save(update_fields=["is_active"])
        assert_unauthorized(key_client(key).get("/api/v1/lists"))

    def test_a_read_key_cannot_write(self, user: User) -> None:
        _, key = make_key(user, scopes=["read"])
        client = key_client(key)
        assert client.get("/api/v1/lists").status_code == 200
        for method in ("post", "put", "patch", "delete"):
            response = getattr(client, method)("/api/v1/lists", {"name": "x"})
            assert response.status_code == 403, method
            assert response.json()["code"] == "permission_denied"

    def test_a_write_key_can_write(self, user: User) -> None:
        _, key = make_key(user, scopes=["read", "write"])
        assert key_client(key).post("/api/v1/lists", {"name": "x"}).status_code == 201

    def test_last_used_is_written_at_most_once_per_interval(self, user: User) -> None:
        api_key, key = make_key(user)
        client = key_client(key)
        client.get(URL)
        api_key.refresh_from_db()
        first_use = api_key.last_used_at
        assert first_use is not None
        client.get(URL)
        api_key.refresh_from_db()
        assert api_key.last_used_at == first_use

    def test_the_schema_declares_the_api_key_scheme(self, api_client: APIClient) -> None:
        schema = api_client.get("/api/schema", HTTP_ACCEPT="application/json").json()
        scheme = schema["components"]["securitySchemes"]["apiKeyAuth"]
        assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "Authorization"}


class TestAdminKeys:
    def test_an_admin_key_gets_five_times_the_limit(self, settings: Any) -> None:
        settings.RATE_LIMIT_DEFAULT = "2/h"
        user = cast(User, UserFactory())
        _, plain = make_key(user)
        _, admin = make_key(user, is_admin=True)
        plain_statuses = [key_client(plain).get("/api/v1/lists").status_code for _ in range(3)]
        assert plain_statuses == [200, 200, 429]
        admin_client = key_client(admin)
        responses = [admin_client.get("/api/v1/lists") for _ in range(11)]
        assert [r.status_code for r in responses] == [200] * 10 + [429]
        assert responses[0]["RateLimit-Policy"] == '"default";q=10;w=3600'
        assert responses[-1]["Retry-After"]

    def test_nobody_sets_the_admin_flag_through_the_api(self, user_client: APIClient) -> None:
        response = user_client.post(URL, {"name": "x", "scopes": ["read"], "is_admin": True})
        assert response.status_code == 400
        assert not ApiKey.objects.filter(is_admin=True).exists()
