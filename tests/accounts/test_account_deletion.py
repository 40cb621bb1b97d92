"""DELETE /api/v1/user: the account and everything it owned are gone, and its tokens stop working."""

from __future__ import annotations

from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.db import models
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from accounts.services.account_deletion import account_delete
from accounts.services.sessions import session_tokens
from tests.factories import DEFAULT_PASSWORD, ItemFactory, ListFactory

OUR_APPS = {"core", "sync", "accounts", "lists", "focus", "antitodo", "insights", "token_blacklist"}


def _owned_rows(user_id: Any) -> dict[str, int]:
    """Rows that point at the user, table by table: every model of our apps (and token_blacklist) with a
    foreign key to the user, and those that point at such a row (items of lists, blacklist entries)."""
    counts: dict[str, int] = {"accounts.User": User.objects.filter(pk=user_id).count()}
    for model in apps.get_models():
        if model._meta.app_label not in OUR_APPS:
            continue
        for field in model._meta.get_fields():
            if isinstance(field, models.ForeignKey | models.OneToOneField) and (
                field.related_model is User or field.related_model == settings.AUTH_USER_MODEL
            ):
                label = f"{model._meta.label}.{field.name}"
                counts[label] = model._default_manager.filter(**{field.name: user_id}).count()
    counts["token_blacklist.BlacklistedToken"] = BlacklistedToken.objects.filter(
        token__user_id=user_id
    ).count()
    return counts


def _user_tables_cover_everything_they_should(counts: dict[str, int]) -> None:
    for expected in ("sync.Space.user", "accounts.Profile.user"):
        assert expected in counts
    assert "lists.List.user" in counts
    assert "lists.Item.user" in counts
    assert "token_blacklist.OutstandingToken.user" in counts


@pytest.fixture
def rich_user(user: User) -> User:
    """A user with lists, items (one done), several sessions and a revoked refresh token."""
    own_list = ListFactory(user=user)
    ItemFactory(list=own_list)
    ItemFactory(list=ListFactory(user=user))
    refresh = session_tokens(user=user)["refresh"]
    from rest_framework_simplejwt.tokens import RefreshToken

    RefreshToken(refresh).blacklist()  # type: ignore[arg-type]
    return user


def test_deleting_the_account_removes_every_row_it_owned(
    rich_user: User, other_user: User, make_client: Any
) -> None:
    before = _owned_rows(rich_user.pk)
    _user_tables_cover_everything_they_should(before)
    assert before["lists.List.user"] == 2
    assert before["lists.Item.user"] == 2
    assert before["token_blacklist.BlacklistedToken"] == 1
    ListFactory(user=other_user)
    other_before = _owned_rows(other_user.pk)
    client = make_client(rich_user)

    response = client.delete("/api/v1/user", {"password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 204
    after = _owned_rows(rich_user.pk)
    assert {table: count for table, count in after.items() if count} == {}
    assert _owned_rows(other_user.pk) == other_before


def test_the_deleted_users_access_and_refresh_tokens_stop_working(user: User) -> None:
    tokens = session_tokens(user=user)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get("/api/v1/lists").status_code == 200

    assert client.delete("/api/v1/user", {"password": DEFAULT_PASSWORD}, format="json").status_code == 204

    after_access = client.get("/api/v1/lists")
    assert after_access.status_code == 401
    assert after_access["Content-Type"] == "application/problem+json"
    refreshed = APIClient().post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}, format="json")
    assert refreshed.status_code == 401
    assert refreshed.json()["code"] == "authentication_failed"
    login = APIClient().post(
        "/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD}, format="json"
    )
    assert login.status_code == 401


@pytest.mark.parametrize("body", [{"password": "not-the-password"}, {"password": ""}, {}])
def test_a_wrong_or_missing_password_is_a_400_and_deletes_nothing(
    rich_user: User, make_client: Any, body: dict[str, str]
) -> None:
    client = make_client(rich_user)
    before = _owned_rows(rich_user.pk)

    response = client.delete("/api/v1/user", body, format="json")

    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "validation_error"
    assert "password" in problem["errors"]
    assert _owned_rows(rich_user.pk) == before


def test_unknown_fields_are_rejected(user: User, user_client: APIClient) -> None:
    response = user_client.delete(
        "/api/v1/user", {"password": DEFAULT_PASSWORD, "force": True}, format="json"
    )

    assert response.status_code == 400
    assert User.objects.filter(pk=user.pk).exists()


def test_an_unauthenticated_delete_is_a_401(user: User, api_client: APIClient) -> None:
    response = api_client.delete("/api/v1/user", {"password": DEFAULT_PASSWORD}, format="json")

    assert response.status_code == 401
    assert response.has_header("WWW-Authenticate")
    assert User.objects.filter(pk=user.pk).exists()


def test_the_service_checks_the_password_too(user: User) -> None:
    from rest_framework.exceptions import ValidationError

    with pytest.raises(ValidationError):
        account_delete(user=user, password="wrong")
    account_delete(user=user, password=DEFAULT_PASSWORD)

    assert not User.objects.filter(pk=user.pk).exists()
    assert not OutstandingToken.objects.filter(user_id=user.pk).exists()
