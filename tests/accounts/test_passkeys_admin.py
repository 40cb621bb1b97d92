"""Passkeys in the admin: listed (on their page and on the user's), read-only, deleted by staff through
the service with an audit event naming them."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from accounts.models import AuditEvent, Passkey, User
from tests.accounts.passkey_authenticator import SoftAuthenticator
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def passkey(user: User, settings: Any) -> Passkey:
    settings.PASSKEYS_RP_ID = "daymark.test"
    settings.PASSKEYS_ORIGINS = ["https://app.daymark.test"]
    client = client_for(user)
    begun = client.post("/api/v1/auth/passkeys/register/begin").json()
    credential = SoftAuthenticator().create(begun["options"], origin="https://app.daymark.test")
    body = {"ceremony": begun["ceremony"], "credential": credential, "name": "Lost phone"}
    answer = client.post("/api/v1/auth/passkeys/register/finish", body)
    assert answer.status_code == 201
    return Passkey.objects.get(pk=answer.json()["id"])


def test_staff_see_passkeys_on_their_page_and_on_the_users(
    staff_client: Client, passkey: Passkey, user: User
) -> None:
    listed = staff_client.get("/admin/accounts/passkey/", {"q": user.email})
    detail = staff_client.get(f"/admin/accounts/passkey/{passkey.pk}/change/")
    on_user = staff_client.get(f"/admin/accounts/user/{user.pk}/change/")

    assert listed.status_code == 200
    assert "Lost phone" in listed.content.decode()
    assert detail.status_code == 200
    assert "Lost phone" in on_user.content.decode()
    assert staff_client.get("/admin/accounts/passkey/add/").status_code == 403


def test_staff_delete_a_passkey_through_the_service_and_it_is_audited(
    staff_client: Client, staff: User, passkey: Passkey, user: User
) -> None:
    answer = staff_client.post(
        "/admin/accounts/passkey/",
        {"action": "delete_passkeys", "_selected_action": [str(passkey.pk)]},
    )

    assert answer.status_code == 302
    assert not Passkey.objects.exists()
    event = AuditEvent.objects.get(event="passkey_deleted")
    assert event.user == user
    assert event.metadata == {"name": "Lost phone", "deleted_by": staff.email}
