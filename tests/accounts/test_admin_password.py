"""Every password set in the back office revokes the user's sessions and is in the audit log, as a password
change through the API is: the refresh path issues tokens for the user as they are now, so nothing else
would end a session that outlived its password."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import AuditEvent, User
from accounts.services.sessions import session_tokens
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db
NEW = "a perfectly fine passphrase 42"


def _refresh_works(token: str) -> bool:
    response = APIClient().post("/api/v1/auth/token/refresh", {"refresh": token}, format="json")
    assert response.status_code in (200, 401), response.content
    return bool(response.status_code == 200)


def test_staff_setting_a_users_password_revokes_their_sessions_and_is_audited(
    staff_client: Client, staff: User, user: User
) -> None:
    tokens = [session_tokens(user=user)["refresh"] for _ in range(2)]

    response = staff_client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW, "password2": NEW, "usable_password": "true"},
    )

    assert response.status_code == 302, response.content
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert not any(_refresh_works(token) for token in tokens)
    event = AuditEvent.objects.get(event=AuditEvent.Event.PASSWORD_CHANGED)
    assert (event.user_id, event.target_id) == (staff.pk, str(user.pk))
    assert event.metadata["sessions"] == 2
    assert event.metadata["via"] == "admin"


def test_staff_disabling_password_login_revokes_sessions_too(
    staff_client: Client, staff: User, user: User
) -> None:
    token = session_tokens(user=user)["refresh"]

    response = staff_client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"usable_password": "false", "unset-password": "1"},
    )

    assert response.status_code == 302, response.content
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert not _refresh_works(token)
    assert AuditEvent.objects.filter(event=AuditEvent.Event.PASSWORD_CHANGED, target_id=str(user.pk)).exists()


def test_an_invalid_form_changes_and_revokes_nothing(staff_client: Client, user: User) -> None:
    token = session_tokens(user=user)["refresh"]

    response = staff_client.post(
        f"/admin/accounts/user/{user.pk}/password/",
        {"password1": NEW, "password2": "something else", "usable_password": "true"},
    )

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)
    assert _refresh_works(token)
    assert not AuditEvent.objects.filter(event=AuditEvent.Event.PASSWORD_CHANGED).exists()


def test_staff_changing_their_own_password_in_the_admin_revokes_their_api_sessions(
    staff_client: Client, staff: User
) -> None:
    token = session_tokens(user=staff)["refresh"]

    response = staff_client.post(
        "/admin/password_change/",
        {"old_password": DEFAULT_PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )

    assert response.status_code == 302, response.content
    staff.refresh_from_db()
    assert staff.check_password(NEW)
    assert not _refresh_works(token)
    event = AuditEvent.objects.get(event=AuditEvent.Event.PASSWORD_CHANGED)
    assert (event.user_id, event.target_id) == (staff.pk, str(staff.pk))
    # The admin session that changed it stays signed in (Django's update_session_auth_hash).
    assert staff_client.get("/admin/").status_code == 200


def test_manage_py_changepassword_revokes_sessions_and_is_audited(user: User, monkeypatch: Any) -> None:
    from django.core.management import call_command

    token = session_tokens(user=user)["refresh"]
    monkeypatch.setattr("getpass.getpass", lambda prompt="": NEW)

    call_command("changepassword", user.email, stdout=_Null())

    user.refresh_from_db()
    assert user.check_password(NEW)
    assert not _refresh_works(token)
    event = AuditEvent.objects.get(event=AuditEvent.Event.PASSWORD_CHANGED)
    assert event.target_id == str(user.pk)
    assert event.metadata["via"] == "changepassword"


class _Null:
    def write(self, _text: str) -> None:
        pass

    def flush(self) -> None:
        pass
