"""Staff cannot become a user: no refresh token that works is kept in the database or shown in the admin;
staff see sessions (id, dates, revoked) and revoke them through the services."""

from __future__ import annotations

import re
from typing import Any, cast

import pytest
from django.db import connection
from django.test import Client
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import AuditEvent, User
from tests.conftest import migrate_to
from tests.factories import DEFAULT_PASSWORD, UserFactory

REFRESH = "/api/v1/auth/token/refresh"
JWT = re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]+")


def _refreshes(token: str) -> bool:
    response = APIClient().post(REFRESH, {"refresh": token}, format="json")
    assert response.status_code in (200, 400, 401), response.content
    return bool(response.status_code == 200)


def _login(user: User) -> dict[str, str]:
    response = APIClient().post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD})
    assert response.status_code == 200, response.content
    return dict(response.json())


@pytest.fixture
def staff_client(db: Any) -> Client:
    client = Client()
    client.force_login(cast(User, UserFactory(is_staff=True, is_superuser=True)))
    return client


@pytest.mark.django_db
def test_no_value_in_the_outstanding_token_table_refreshes(user: User) -> None:
    rotated = APIClient().post(REFRESH, {"refresh": _login(user)["refresh"]}, format="json").json()
    live = rotated["refresh"]
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {OutstandingToken._meta.db_table}")  # noqa: S608
        values = [str(value) for row in cursor.fetchall() for value in row if value is not None]

    assert len(values) >= 2 * 5
    assert not [value for value in values if live in value or live.rsplit(".", 1)[1] in value]
    assert not [value for value in values if _refreshes(value)]
    assert _refreshes(live)  # the token the client holds still works


@pytest.mark.django_db
def test_the_admin_shows_sessions_but_no_token_that_refreshes(user: User, staff_client: Client) -> None:
    live = _login(user)["refresh"]
    session = OutstandingToken.objects.get(user=user)
    pages = [
        staff_client.get("/admin/accounts/session/"),
        staff_client.get(f"/admin/accounts/session/{session.pk}/change/"),
        staff_client.get(f"/admin/accounts/user/{user.pk}/change/"),
    ]

    assert [page.status_code for page in pages] == [200, 200, 200]
    html = "".join(page.content.decode() for page in pages)
    assert session.jti in html
    assert user.email in html
    assert live not in html
    assert live.rsplit(".", 1)[1] not in html
    assert not [token for token in JWT.findall(html) if _refreshes(token)]
    assert staff_client.get("/admin/token_blacklist/outstandingtoken/").status_code == 404
    assert _refreshes(live)


@pytest.mark.django_db
def test_staff_revoke_a_session_in_the_admin_and_it_is_audited(user: User, staff_client: Client) -> None:
    kept, revoked = _login(user)["refresh"], _login(user)["refresh"]
    session = OutstandingToken.objects.filter(user=user).order_by("-id").first()
    assert session is not None

    response = staff_client.post(
        "/admin/accounts/session/", {"action": "revoke", "_selected_action": [session.pk]}
    )

    assert response.status_code == 302
    assert (_refreshes(revoked), _refreshes(kept)) == (False, True)
    event = AuditEvent.objects.get(event=AuditEvent.Event.SESSIONS_REVOKED)
    assert (event.target_type, event.target_id) == ("refresh_token", session.jti)


@pytest.mark.django_db(transaction=True)
def test_the_migration_replaces_kept_tokens_by_their_digests(user: User) -> None:
    blacklist = ("token_blacklist", "0013_alter_blacklistedtoken_options_and_more")
    before = [("accounts", "0003_api_keys_and_audit_log"), blacklist]
    after = [("accounts", "0004_digest_refresh_tokens"), blacklist]
    # Logged in with today's schema: the code of today reads columns of the user the old schema lacks.
    live = _login(user)["refresh"]
    executor = migrate_to(before)
    old_model = executor.loader.project_state(before).apps.get_model("token_blacklist", "OutstandingToken")
    # As the table was before: simplejwt wrote the token itself (the historical model has no receiver).
    old_model.objects.filter(user_id=user.pk).update(token=live)

    migrate_to(after)

    [kept] = OutstandingToken.objects.filter(user=user).values_list("token", flat=True)
    assert kept.startswith("sha256:")
    assert live not in kept
    migrate_to()
    assert _refreshes(live)
