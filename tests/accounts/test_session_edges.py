"""Session edge cases found in review (docs/api/authentication.md)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User
from tests.accounts.test_auth import STRONG, bearer, login, refresh
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


class TestPasswordChange:
    def test_the_device_that_changed_the_password_stays_signed_in(
        self, api_client: APIClient, user: User
    ) -> None:
        device = login(api_client, user.email).json()
        response = bearer(device["access"]).post(
            "/api/v1/auth/password/change",
            {"current_password": DEFAULT_PASSWORD, "new_password": STRONG, "refresh": device["refresh"]},
        )
        assert response.status_code == 204

        renewed = refresh(api_client, device["refresh"])
        assert renewed.status_code == 200
        assert bearer(renewed.json()["access"]).get("/api/v1/lists").status_code == 200
        again = refresh(api_client, renewed.json()["refresh"])
        assert again.status_code == 200
        assert bearer(again.json()["access"]).get("/api/v1/lists").status_code == 200

    def test_other_devices_access_tokens_stop_working(self, api_client: APIClient, user: User) -> None:
        device = login(api_client, user.email).json()
        other = login(api_client, user.email).json()
        bearer(device["access"]).post(
            "/api/v1/auth/password/change",
            {"current_password": DEFAULT_PASSWORD, "new_password": STRONG, "refresh": device["refresh"]},
        )
        assert bearer(other["access"]).get("/api/v1/lists").status_code == 401
        assert refresh(api_client, other["refresh"]).status_code == 401

    def test_a_refresh_token_of_another_user_changes_nothing(
        self, api_client: APIClient, user: User, other_user: User
    ) -> None:
        mine = login(api_client, user.email).json()
        theirs = login(api_client, other_user.email).json()
        response = bearer(mine["access"]).post(
            "/api/v1/auth/password/change",
            {"current_password": DEFAULT_PASSWORD, "new_password": STRONG, "refresh": theirs["refresh"]},
        )
        assert response.status_code == 400
        user.refresh_from_db()
        assert user.check_password(DEFAULT_PASSWORD)
        assert refresh(api_client, theirs["refresh"]).status_code == 200


class TestRefresh:
    def test_a_refresh_token_cannot_be_used_after_logout_all_even_once_rotated(
        self, api_client: APIClient, user: User
    ) -> None:
        device = login(api_client, user.email).json()
        rotated = refresh(api_client, device["refresh"]).json()
        bearer(rotated["access"]).post("/api/v1/auth/logout-all")
        assert refresh(api_client, rotated["refresh"]).status_code == 401

    def test_an_access_token_is_not_a_refresh_token(self, api_client: APIClient, user: User) -> None:
        device = login(api_client, user.email).json()
        assert refresh(api_client, device["access"]).status_code == 401
        response = bearer(device["access"]).post("/api/v1/auth/logout", {"refresh": device["access"]})
        assert response.status_code == 400

    def test_the_refresh_token_of_a_deleted_user_is_401(self, api_client: APIClient, user: User) -> None:
        device = login(api_client, user.email).json()
        user.delete()
        response = refresh(api_client, device["refresh"])
        assert response.status_code == 401
        assert response["Content-Type"] == "application/problem+json"

    def test_a_refresh_token_works_once_even_when_the_second_use_races_the_first(
        self, api_client: APIClient, user: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        device = login(api_client, user.email).json()
        RefreshToken(device["refresh"]).blacklist()  # the first use wrote its row ...
        # ... after the second one had already passed the blacklist check.
        monkeypatch.setattr(RefreshToken, "check_blacklist", lambda self: None)
        assert refresh(api_client, device["refresh"]).status_code == 401
