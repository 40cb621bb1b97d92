"""Staff actions through the services: each needs its permission, a confirmation (GET) and a POST with
the CSRF token, and leaves an audit event naming the staff member."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from django.core import mail
from django.test import Client

from accounts.models import ApiKey, AuditEvent, User
from accounts.services.api_keys import api_key_create
from tests.backoffice.conftest import ALL_BACKOFFICE as ALL_PERMISSIONS
from tests.conftest import client_for
from tests.factories import MemberFactory, UserFactory, WorkspaceFactory
from workspaces.models import Member

Event = AuditEvent.Event


def _url(user: User, action: str) -> str:
    return f"/admin/backoffice/users/{user.pk}/{action}/"


@pytest.fixture
def target(db: Any) -> User:
    return UserFactory.create(email="target@example.com")


def _staff_client(make_staff: Callable[..., User], *perms: str) -> tuple[User, Client]:
    staff = make_staff(*perms)
    client = Client(enforce_csrf_checks=True)
    client.force_login(staff)
    return staff, client


def _post(client: Client, url: str) -> Any:
    """Submits the confirmation page's form, with the CSRF token it carries."""
    page = client.get(url)
    assert page.status_code == 200, page.status_code
    assert b"csrfmiddlewaretoken" in page.content
    token = page.context["csrf_token"]
    return client.post(url, {"csrfmiddlewaretoken": str(token)})


def test_deactivating_revokes_sessions_and_is_audited_with_the_staff_member(
    target: User, make_staff: Callable[..., User]
) -> None:
    staff, client = _staff_client(make_staff, "backoffice.deactivate_user")
    api = client_for(target)
    assert api.get("/api/v1/lists").status_code == 200
    answer = _post(client, _url(target, "deactivate"))
    assert answer.status_code == 302
    target.refresh_from_db()
    assert not target.is_active
    assert api.get("/api/v1/lists").status_code == 401
    event = AuditEvent.objects.get(event=Event.USER_DEACTIVATED)
    assert event.user == staff
    assert event.metadata["target_email"] == target.email

    _post(client, _url(target, "reactivate"))
    target.refresh_from_db()
    assert target.is_active
    assert AuditEvent.objects.get(event=Event.USER_ACTIVATED).user == staff


def test_a_post_without_the_csrf_token_is_refused(target: User, make_staff: Callable[..., User]) -> None:
    _, client = _staff_client(make_staff, "backoffice.deactivate_user")
    assert client.post(_url(target, "deactivate")).status_code == 403
    target.refresh_from_db()
    assert target.is_active


def test_a_password_reset_is_mailed_and_audited(target: User, make_staff: Callable[..., User]) -> None:
    staff, client = _staff_client(make_staff, "backoffice.send_password_reset")
    mail.outbox.clear()
    _post(client, _url(target, "password-reset"))
    assert [m.to for m in mail.outbox] == [[target.email]]
    event = AuditEvent.objects.get(event=Event.PASSWORD_RESET_REQUESTED)
    assert (event.user, event.target_id, event.metadata["by_staff"]) == (staff, str(target.pk), True)


def test_an_export_is_a_download_of_the_users_data(target: User, make_staff: Callable[..., User]) -> None:
    staff, client = _staff_client(make_staff, "backoffice.export_user_data")
    answer = _post(client, _url(target, "export"))
    assert answer.status_code == 200
    assert "attachment" in answer["Content-Disposition"]
    document = json.loads(b"".join(answer.streaming_content))
    assert document["format"] == "daymark-export"
    event = AuditEvent.objects.get(event=Event.DATA_EXPORTED)
    assert (event.user, event.metadata["target_email"]) == (staff, target.email)


def test_deleting_the_account_is_what_delete_user_does(target: User, make_staff: Callable[..., User]) -> None:
    staff, client = _staff_client(make_staff, "backoffice.delete_user")
    workspace = WorkspaceFactory.create(user=target)
    MemberFactory.create(workspace=workspace, role="editor")
    answer = _post(client, _url(target, "delete"))
    assert answer.status_code == 302
    assert not User.objects.filter(pk=target.pk).exists()
    # Handed over to the remaining member, as DELETE user does.
    assert Member.objects.filter(workspace=workspace, role="owner").exists()
    event = AuditEvent.objects.get(event=Event.ACCOUNT_DELETED)
    assert (event.user, event.target_id, event.metadata["target_email"]) == (
        staff,
        str(target.pk),
        target.email,
    )


def test_revoking_an_api_key(target: User, make_staff: Callable[..., User]) -> None:
    staff, client = _staff_client(make_staff, "backoffice.revoke_api_key")
    key, _ = api_key_create(user=target, name="script", scopes=["read"])
    _post(client, f"/admin/backoffice/users/{target.pk}/keys/{key.pk}/revoke/")
    key.refresh_from_db()
    assert key.revoked_at is not None
    event = AuditEvent.objects.get(event=Event.API_KEY_REVOKED)
    assert event.metadata["revoked_by"] == staff.email
    other = UserFactory.create()
    their_key, _ = api_key_create(user=other, name="x", scopes=["read"])
    # A key is found under its own user only.
    assert client.get(f"/admin/backoffice/users/{target.pk}/keys/{their_key.pk}/revoke/").status_code == 404


def test_removing_a_member_from_a_workspace(target: User, make_staff: Callable[..., User]) -> None:
    staff, client = _staff_client(make_staff, "backoffice.remove_workspace_member")
    workspace = WorkspaceFactory.create()
    MemberFactory.create(workspace=workspace, user=target, role="editor")
    _post(client, f"/admin/backoffice/users/{target.pk}/workspaces/{workspace.pk}/remove/")
    assert not Member.objects.filter(workspace=workspace, user=target).exists()
    event = AuditEvent.objects.get(event=Event.WORKSPACE_MEMBER_REMOVED)
    assert (event.user, event.metadata["target_email"]) == (staff, target.email)


ACTION_PERMISSIONS = [
    ("deactivate", "backoffice.deactivate_user"),
    ("password-reset", "backoffice.send_password_reset"),
    ("export", "backoffice.export_user_data"),
    ("delete", "backoffice.delete_user"),
]


@pytest.mark.parametrize(("action", "permission"), ACTION_PERMISSIONS)
def test_staff_without_the_permission_are_refused(
    target: User, make_staff: Callable[..., User], action: str, permission: str
) -> None:
    others = [p for _, p in ACTION_PERMISSIONS if p != permission]
    staff, client = _staff_client(make_staff, "accounts.view_user", "backoffice.view_dashboard", *others)
    assert client.get(_url(target, action)).status_code == 403
    client.handler.enforce_csrf_checks = False  # refused for the permission, not for the token
    assert client.post(_url(target, action)).status_code == 403
    assert User.objects.get(pk=target.pk).is_active
    assert not AuditEvent.objects.filter(user=staff).exclude(
        event__in=[Event.ADMIN_LOGIN, Event.REGISTRATION]
    )


def test_every_page_is_refused_to_a_non_staff_user(target: User) -> None:
    client = Client()
    client.force_login(UserFactory.create())
    for url in (
        "/admin/backoffice/health/",
        "/admin/backoffice/users/?q=target",
        f"/admin/backoffice/users/{target.pk}/",
        _url(target, "deactivate"),
    ):
        answer = client.get(url)
        assert answer.status_code == 302, url
        assert "/admin/login/" in answer["Location"]


def test_the_user_page_offers_only_the_permitted_actions(
    target: User, make_staff: Callable[..., User], browser_of: Callable[[User], Client]
) -> None:
    page = browser_of(make_staff("accounts.view_user", "backoffice.send_password_reset")).get(
        f"/admin/backoffice/users/{target.pk}/"
    )
    assert page.status_code == 200
    assert b'id="action-password-reset"' in page.content
    assert b'id="action-deactivate"' not in page.content
    assert b'id="action-delete"' not in page.content
    assert (
        browser_of(make_staff("backoffice.view_dashboard"))
        .get(f"/admin/backoffice/users/{target.pk}/")
        .status_code
        == 403
    )


def test_revoked_keys_are_unusable(target: User, make_staff: Callable[..., User]) -> None:
    _, client = _staff_client(make_staff, "backoffice.revoke_api_key")
    key, secret = api_key_create(user=target, name="script", scopes=["read"])
    api = Client(HTTP_AUTHORIZATION=f"Api-Key {secret}")
    assert api.get("/api/v1/lists").status_code == 200
    _post(client, f"/admin/backoffice/users/{target.pk}/keys/{key.pk}/revoke/")
    assert api.get("/api/v1/lists").status_code == 401
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_a_superusers_account_is_acted_on_by_superusers_only(make_staff: Callable[..., User]) -> None:
    boss = UserFactory.create(is_staff=True, is_superuser=True)
    key, _ = api_key_create(user=boss, name="boss", scopes=["read"])
    _, client = _staff_client(make_staff, *ALL_PERMISSIONS)
    client.handler.enforce_csrf_checks = False
    for action in ("deactivate", "delete", "password-reset", "export"):
        assert client.get(_url(boss, action)).status_code == 403, action
        assert client.post(_url(boss, action)).status_code == 403, action
    assert client.post(f"/admin/backoffice/users/{boss.pk}/keys/{key.pk}/revoke/").status_code == 403
    assert User.objects.filter(pk=boss.pk, is_active=True).exists()
    assert ApiKey.objects.get(pk=key.pk).revoked_at is None


def test_staff_do_not_deactivate_or_delete_themselves(make_staff: Callable[..., User]) -> None:
    staff, client = _staff_client(make_staff, *ALL_PERMISSIONS)
    for action in ("deactivate", "delete"):
        assert client.get(_url(staff, action)).status_code == 403
    assert User.objects.get(pk=staff.pk).is_active
