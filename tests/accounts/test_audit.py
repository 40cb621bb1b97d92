"""The audit log records the security events, holds no secrets, and cannot be changed."""

from __future__ import annotations

import json
from typing import Any, cast

import pytest
from django.core import mail
from django.test import Client
from rest_framework.test import APIClient

from accounts.audit import audit_record
from accounts.models import ApiKey, AuditEvent, User
from accounts.services.api_keys import api_key_create
from accounts.services.sessions import session_tokens
from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
Event = AuditEvent.Event
STRONG = "a perfectly fine passphrase 42"


def events(**filters: Any) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("event", flat=True))


def test_registration_records_the_user_ip_agent_and_request_id(api_client: APIClient) -> None:
    response = api_client.post(
        "/api/v1/auth/register",
        {"email": "new@example.com", "password": STRONG},
        HTTP_USER_AGENT="DaymarkTest/1.0",
        HTTP_X_REQUEST_ID="req-registration-1",
    )
    assert response.status_code == 201
    event = AuditEvent.objects.get(event=Event.REGISTRATION)
    assert event.user is not None
    assert event.user.email == "new@example.com"
    assert event.email == "new@example.com"
    assert event.ip == "127.0.0.1"
    assert event.user_agent == "DaymarkTest/1.0"
    assert event.request_id == "req-registration-1"
    assert event.target_type == "user"
    assert STRONG not in json.dumps(event.metadata)


def test_login_success_and_failure(api_client: APIClient, user: User) -> None:
    api_client.post("/api/v1/auth/token", {"email": user.email, "password": "wrong password!"})
    api_client.post("/api/v1/auth/token", {"email": "nobody@example.com", "password": "wrong password!"})
    api_client.post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD})
    failed = AuditEvent.objects.filter(event=Event.LOGIN_FAILED).order_by("id")
    assert [(e.user_id, e.email) for e in failed] == [(None, user.email), (None, "nobody@example.com")]
    assert events(user=user, event=Event.LOGIN_SUCCEEDED) == [Event.LOGIN_SUCCEEDED]
    assert "wrong password!" not in json.dumps(list(AuditEvent.objects.values("metadata")))


def test_logout_logout_all_and_password_change(user_client: APIClient, user: User) -> None:
    refresh = session_tokens(user=user)["refresh"]
    assert user_client.post("/api/v1/auth/logout", {"refresh": refresh}).status_code == 204
    assert user_client.post("/api/v1/auth/logout-all").status_code == 204
    # Logout everywhere refused the access token too: the change is made in a new session.
    change = {"current_password": DEFAULT_PASSWORD, "new_password": STRONG}
    again = client_for(User.objects.get(pk=user.pk))
    assert again.post("/api/v1/auth/password/change", change).status_code == 204
    assert events(user=user, event__in=[Event.LOGOUT, Event.LOGOUT_ALL, Event.PASSWORD_CHANGED]) == [
        Event.LOGOUT,
        Event.LOGOUT_ALL,
        Event.PASSWORD_CHANGED,
    ]
    assert refresh not in json.dumps(list(AuditEvent.objects.values("metadata", "target_id")))


def test_password_reset_request_and_completion(api_client: APIClient, user: User, settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    api_client.post("/api/v1/auth/password/reset", {"email": user.email})
    token = str(mail.outbox[0].body).split("Your reset token: ")[1].split()[0]
    api_client.post("/api/v1/auth/password/reset/confirm", {"token": token, "new_password": STRONG})
    assert events(user=user, event__startswith="password_reset") == [
        Event.PASSWORD_RESET_REQUESTED,
        Event.PASSWORD_RESET_COMPLETED,
    ]
    assert token not in json.dumps(list(AuditEvent.objects.values("metadata", "target_id")))


def test_api_key_create_and_revoke(user_client: APIClient, user: User) -> None:
    created = user_client.post("/api/v1/user/api-keys", {"name": "ci", "scopes": ["read"]}).json()
    user_client.delete(f"/api/v1/user/api-keys/{created['id']}")
    rows = AuditEvent.objects.filter(target_type="api_key").order_by("id")
    assert [(e.event, e.target_id, e.user_id) for e in rows] == [
        (Event.API_KEY_CREATED, created["id"], user.pk),
        (Event.API_KEY_REVOKED, created["id"], user.pk),
    ]
    stored = ApiKey.objects.get()
    dump = json.dumps(list(AuditEvent.objects.values("metadata")))
    assert created["key"] not in dump
    assert stored.hashed_key not in dump


def test_rate_limit_hits_on_auth_endpoints_are_recorded_once_per_window(
    api_client: APIClient, user: User
) -> None:
    for _ in range(8):
        api_client.post("/api/v1/auth/token", {"email": user.email, "password": "wrong password!"})
    hits = AuditEvent.objects.filter(event=Event.RATE_LIMITED)
    assert [(e.email, e.metadata["policy"]) for e in hits] == [(user.email, "token-email")]


def test_the_service_drops_secret_looking_metadata(user: User) -> None:
    event = audit_record(
        event=Event.DATA_EXPORTED,
        user=user,
        metadata={"items": 3, "password": "x", "api_key": "y", "nested": {"refresh_token": "z", "ok": 1}},
    )
    event.refresh_from_db()
    assert event.metadata == {"items": 3, "nested": {"ok": 1}}


def test_a_row_cannot_be_updated_or_deleted_through_the_model(user: User) -> None:
    event = audit_record(event=Event.DATA_IMPORTED, user=user)
    event.event = Event.DATA_EXPORTED
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    assert events()[-1:] == [Event.DATA_IMPORTED]


class TestAdmin:
    @pytest.fixture
    def superuser_client(self) -> Client:
        staff = cast(User, UserFactory(is_staff=True, is_superuser=True))
        client = Client()
        client.force_login(staff)
        return client

    def test_a_superuser_cannot_change_an_event(self, superuser_client: Client, user: User) -> None:
        event = audit_record(event=Event.LOGIN_FAILED, email="a@example.com", metadata={"n": 1})
        url = f"/admin/accounts/auditevent/{event.pk}/change/"
        assert superuser_client.get(url).status_code == 200  # readable
        response = superuser_client.post(url, {"event": "logout", "email": "b@example.com", "metadata": "{}"})
        assert response.status_code == 403
        event.refresh_from_db()
        assert (event.event, event.email) == (Event.LOGIN_FAILED, "a@example.com")

    def test_a_superuser_cannot_delete_or_add_events(self, superuser_client: Client, user: User) -> None:
        event = audit_record(event=Event.LOGIN_FAILED, email="a@example.com")
        delete = superuser_client.post(f"/admin/accounts/auditevent/{event.pk}/delete/", {"post": "yes"})
        assert delete.status_code == 403
        bulk = superuser_client.post(
            "/admin/accounts/auditevent/",
            {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
        )
        assert bulk.status_code in (200, 302)
        add = superuser_client.post("/admin/accounts/auditevent/add/", {"event": "logout"})
        assert add.status_code == 403
        assert AuditEvent.objects.filter(pk=event.pk).exists()
        assert not AuditEvent.objects.filter(event=Event.LOGOUT).exists()

    def test_the_log_can_be_searched_and_filtered(self, superuser_client: Client, user: User) -> None:
        audit_record(event=Event.LOGIN_FAILED, email="findme@example.com")
        found = superuser_client.get("/admin/accounts/auditevent/", {"q": "findme@example.com"})
        assert found.status_code == 200
        assert b"findme@example.com" in found.content
        filtered = superuser_client.get("/admin/accounts/auditevent/", {"event__exact": "logout"})
        assert b"findme@example.com" not in filtered.content

    def test_a_staff_login_to_the_admin_is_recorded(self, user: User) -> None:
        staff = UserFactory(is_staff=True, is_superuser=True)
        client = Client()
        response = client.post(
            "/admin/login/?next=/admin/", {"username": staff.email, "password": DEFAULT_PASSWORD}
        )
        assert response.status_code == 302
        assert events(user=staff, event=Event.ADMIN_LOGIN) == [Event.ADMIN_LOGIN]

    def test_admin_actions_deactivate_revoke_sessions_and_revoke_keys(
        self, superuser_client: Client, user: User
    ) -> None:
        api_key, _ = api_key_create(user=user, name="k", scopes=["read"])
        refresh = session_tokens(user=user)["refresh"]
        changelist = "/admin/accounts/user/"
        superuser_client.post(changelist, {"action": "revoke_all_sessions", "_selected_action": [user.pk]})
        assert APIClient().post("/api/v1/auth/token/refresh", {"refresh": refresh}).status_code == 401
        superuser_client.post(
            "/admin/accounts/apikey/", {"action": "revoke", "_selected_action": [api_key.pk]}
        )
        api_key.refresh_from_db()
        assert api_key.revoked_at is not None
        superuser_client.post(changelist, {"action": "deactivate", "_selected_action": [user.pk]})
        user.refresh_from_db()
        assert not user.is_active
        assert set(events(target_id=str(user.pk))) >= {Event.SESSIONS_REVOKED, Event.USER_DEACTIVATED}

    def test_creating_a_key_in_the_admin_shows_the_secret_once(
        self, superuser_client: Client, user: User
    ) -> None:
        response = superuser_client.post(
            "/admin/accounts/apikey/add/",
            {"user": user.pk, "name": "ops", "scopes": "read,write", "is_admin": "on"},
            follow=True,
        )
        assert response.status_code == 200
        api_key = ApiKey.objects.get()
        assert api_key.is_admin
        assert api_key.scopes == ["read", "write"]
        text = response.content.decode()
        secret = text.split("cannot be shown again: ")[1].split("<")[0].strip()
        assert secret.startswith(api_key.prefix)
        key_client = APIClient()
        key_client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")
        assert key_client.get("/api/v1/lists").status_code == 200
        assert (
            secret
            not in superuser_client.get(f"/admin/accounts/apikey/{api_key.pk}/change/").content.decode()
        )
