"""The session endpoints of docs/api/authentication.md."""

from __future__ import annotations

from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import hashers
from django.contrib.auth.hashers import identify_hasher
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

STRONG = "a perfectly fine passphrase 42"


def register(user_client: APIClient, **body: Any) -> Any:
    return user_client.post("/api/v1/auth/register", {"email": "new@example.com", "password": STRONG, **body})


def login(user_client: APIClient, email: str, password: str = DEFAULT_PASSWORD) -> Any:
    return user_client.post("/api/v1/auth/token", {"email": email, "password": password})


def refresh(user_client: APIClient, token: str) -> Any:
    return user_client.post("/api/v1/auth/token/refresh", {"refresh": token})


def bearer(access: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    return client


class TestRegister:
    def test_it_creates_the_user_and_a_session(self, api_client: APIClient) -> None:
        response = register(api_client, display_name="Ada", timezone="Europe/London")
        assert response.status_code == 201
        body = response.json()
        assert body["user"]["email"] == "new@example.com"
        assert body["user"]["timezone"] == "Europe/London"
        assert set(body) == {"user", "access", "refresh"}
        assert bearer(body["access"]).get("/api/v1/lists").status_code == 200

    def test_it_rejects_a_weak_password(self, api_client: APIClient) -> None:
        response = register(api_client, password="password")
        assert response.status_code == 400
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"
        assert "password" in response.json()["errors"]
        assert not User.objects.exists()

    def test_it_rejects_an_email_taken_in_another_case(self, api_client: APIClient) -> None:
        UserFactory.create(email="ada@example.com")
        response = register(api_client, email="ADA@Example.COM")
        assert response.status_code == 400
        assert "email" in response.json()["errors"]
        assert User.objects.count() == 1

    def test_it_rejects_an_unknown_time_zone(self, api_client: APIClient) -> None:
        response = register(api_client, timezone="Mars/Olympus_Mons")
        assert response.status_code == 400
        assert "timezone" in response.json()["errors"]

    def test_it_rejects_unknown_fields(self, api_client: APIClient) -> None:
        response = register(api_client, is_staff=True)
        assert response.status_code == 400
        assert response.json()["errors"] == {"is_staff": ["Unknown field."]}
        assert not User.objects.exists()

    def test_it_hashes_passwords_with_argon2(self, api_client: APIClient, settings: Any) -> None:
        settings.PASSWORD_HASHERS = _production_hashers()
        register(api_client)
        assert identify_hasher(User.objects.get().password).algorithm == "argon2"


def test_a_login_rehashes_a_password_stored_with_djangos_argon2_parameters(
    api_client: APIClient, settings: Any
) -> None:
    settings.PASSWORD_HASHERS = _production_hashers()
    stock = hashers.Argon2PasswordHasher()
    user = UserFactory.create()
    User.objects.filter(pk=user.pk).update(password=stock.encode(DEFAULT_PASSWORD, stock.salt()))
    assert "m=102400,t=2,p=8" in User.objects.get(pk=user.pk).password

    assert login(api_client, user.email).status_code == 200

    stored = User.objects.get(pk=user.pk).password
    assert stored.startswith("argon2$argon2id$")
    assert "m=19456,t=2,p=1" in stored
    assert login(api_client, user.email).status_code == 200


def _production_hashers() -> list[str]:
    from importlib import reload

    import config.settings as module

    return list(reload(module).PASSWORD_HASHERS)


class TestToken:
    def test_it_logs_in_with_the_email_in_any_case(self, api_client: APIClient) -> None:
        UserFactory.create(email="ada@example.com")
        response = login(api_client, "Ada@EXAMPLE.com")
        assert response.status_code == 200
        assert set(response.json()) == {"access", "refresh"}

    @pytest.mark.parametrize("email", ["ada@example.com", "nobody@example.com"])
    def test_wrong_credentials_are_401(self, api_client: APIClient, email: str) -> None:
        UserFactory.create(email="ada@example.com")
        response = login(api_client, email, "wrong password here")
        assert response.status_code == 401
        assert response.json()["code"] == "authentication_failed"
        assert response["WWW-Authenticate"]

    def test_a_deactivated_user_cannot_log_in(self, api_client: APIClient) -> None:
        UserFactory.create(email="ada@example.com", is_active=False)
        assert login(api_client, "ada@example.com").status_code == 401


class TestRefresh:
    def test_it_rotates_and_rejects_reuse(self, api_client: APIClient, user: User) -> None:
        first = login(api_client, user.email).json()["refresh"]
        response = refresh(api_client, first)
        assert response.status_code == 200
        second = response.json()["refresh"]
        assert second != first
        reused = refresh(api_client, first)
        assert reused.status_code == 401
        assert reused.json()["code"] == "authentication_failed"
        assert refresh(api_client, second).status_code == 200

    def test_a_refresh_token_is_rejected_after_logout(self, api_client: APIClient, user: User) -> None:
        tokens = login(api_client, user.email).json()
        assert (
            bearer(tokens["access"]).post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}).status_code
            == 204
        )
        assert refresh(api_client, tokens["refresh"]).status_code == 401

    def test_logout_all_revokes_every_session_including_rotated_ones(
        self, api_client: APIClient, user: User
    ) -> None:
        one = login(api_client, user.email).json()
        two = login(api_client, user.email).json()
        rotated = refresh(api_client, two["refresh"]).json()
        assert bearer(one["access"]).post("/api/v1/auth/logout-all").status_code == 204
        assert refresh(api_client, one["refresh"]).status_code == 401
        assert refresh(api_client, rotated["refresh"]).status_code == 401

    def test_garbage_is_401(self, api_client: APIClient) -> None:
        assert refresh(api_client, "not-a-token").status_code == 401

    def test_a_deactivated_users_refresh_is_rejected(self, api_client: APIClient, user: User) -> None:
        tokens = login(api_client, user.email).json()
        User.objects.filter(pk=user.pk).update(is_active=False)
        assert refresh(api_client, tokens["refresh"]).status_code == 401


class TestLogout:
    def test_it_refuses_another_users_refresh_token(
        self, api_client: APIClient, user: User, other_user: User
    ) -> None:
        mine = login(api_client, user.email).json()
        theirs = login(api_client, other_user.email).json()
        response = bearer(mine["access"]).post("/api/v1/auth/logout", {"refresh": theirs["refresh"]})
        assert response.status_code == 400
        assert refresh(api_client, theirs["refresh"]).status_code == 200

    def test_it_needs_credentials(self, api_client: APIClient) -> None:
        response = api_client.post("/api/v1/auth/logout", {"refresh": "x"})
        assert response.status_code == 401
        assert response["WWW-Authenticate"]


class TestPasswordChange:
    def test_it_changes_the_password_and_revokes_other_sessions(
        self, api_client: APIClient, user: User
    ) -> None:
        this_device = login(api_client, user.email).json()
        other_device = login(api_client, user.email).json()
        response = bearer(this_device["access"]).post(
            "/api/v1/auth/password/change",
            {"current_password": DEFAULT_PASSWORD, "new_password": STRONG, "refresh": this_device["refresh"]},
        )
        assert response.status_code == 204
        assert refresh(api_client, other_device["refresh"]).status_code == 401
        assert refresh(api_client, this_device["refresh"]).status_code == 200
        assert login(api_client, user.email, STRONG).status_code == 200
        assert login(api_client, user.email).status_code == 401

    def test_a_wrong_current_password_changes_nothing(self, user_client: APIClient, user: User) -> None:
        response = user_client.post(
            "/api/v1/auth/password/change", {"current_password": "not it at all", "new_password": STRONG}
        )
        assert response.status_code == 400
        user.refresh_from_db()
        assert user.check_password(DEFAULT_PASSWORD)

    def test_a_weak_new_password_is_rejected(self, user_client: APIClient, user: User) -> None:
        response = user_client.post(
            "/api/v1/auth/password/change", {"current_password": DEFAULT_PASSWORD, "new_password": "12345678"}
        )
        assert response.status_code == 400
        assert "new_password" in response.json()["errors"]
        user.refresh_from_db()
        assert user.check_password(DEFAULT_PASSWORD)


class TestAccessTokens:
    def test_a_deactivated_users_access_token_is_rejected(self, user_client: APIClient, user: User) -> None:
        User.objects.filter(pk=user.pk).update(is_active=False)
        response = user_client.get("/api/v1/lists")
        assert response.status_code == 401
        assert response["WWW-Authenticate"]

    def test_a_refresh_token_is_not_an_access_token(self, api_client: APIClient, user: User) -> None:
        tokens = login(api_client, user.email).json()
        assert bearer(tokens["refresh"]).get("/api/v1/lists").status_code == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/api/v1/lists"),
        ("post", "/api/v1/lists"),
        ("get", "/api/v1/items"),
        ("get", "/api/v1/items/5b0e6a52-8f6f-4d36-a3cb-0d5c3c8f1d11"),
        ("patch", "/api/v1/lists/5b0e6a52-8f6f-4d36-a3cb-0d5c3c8f1d11"),
        ("delete", "/api/v1/items/5b0e6a52-8f6f-4d36-a3cb-0d5c3c8f1d11"),
        ("post", "/api/v1/auth/logout-all"),
        ("post", "/api/v1/auth/password/change"),
    ],
)
def test_protected_endpoints_answer_401_problems_without_credentials(
    api_client: APIClient, method: str, path: str
) -> None:
    response = getattr(api_client, method)(path, {} if method != "get" else None)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["code"] == "not_authenticated"


def test_settings_use_argon2_first() -> None:
    assert "Argon2" in _production_hashers()[0]
    assert settings.AUTH_USER_MODEL == "accounts.User"
