"""One passkey ceremony finished by several database connections at once: exactly one of them gets it
(PostgreSQL, real threads, each with its own connection)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Passkey, PasskeyCeremony, User
from accounts.services.passkey_ceremonies import Purpose, ceremony_begin, ceremony_consume
from tests.accounts.passkey_authenticator import SoftAuthenticator
from tests.concurrency import at_once
from tests.conftest import RACES, client_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), RACES]

ORIGIN = "https://app.daymark.test"


@pytest.fixture(autouse=True)
def _relying_party(settings: Any) -> None:
    settings.PASSKEYS_RP_ID = "daymark.test"
    settings.PASSKEYS_ORIGINS = [ORIGIN]
    settings.RATE_LIMIT_TOKEN_PER_IP = "1000/m"


def test_of_four_connections_consuming_one_ceremony_exactly_one_wins_every_time() -> None:
    for _round in range(25):
        ceremony = ceremony_begin(purpose=Purpose.LOGIN, user=None)

        def consume(n: int, pk: uuid.UUID = ceremony.pk) -> PasskeyCeremony | None:
            return ceremony_consume(ceremony_id=pk, purpose=Purpose.LOGIN)

        won = at_once(4, consume)

        assert [c.pk for c in won if c is not None] == [ceremony.pk]
    assert not PasskeyCeremony.objects.exists()


def test_of_four_racing_login_finishes_with_one_answer_exactly_one_logs_in(user: User) -> None:
    authenticator = SoftAuthenticator(counter_step=0)  # no counter: only the ceremony stops a replay
    owner = client_for(user)
    begun = owner.post("/api/v1/auth/passkeys/register/begin").json()
    credential = authenticator.create(begun["options"], origin=ORIGIN)
    registered = owner.post(
        "/api/v1/auth/passkeys/register/finish", {"ceremony": begun["ceremony"], "credential": credential}
    )
    assert registered.status_code == 201
    begun = APIClient().post("/api/v1/auth/passkeys/login/begin", {}).json()
    body = {"ceremony": begun["ceremony"], "credential": authenticator.get(begun["options"], origin=ORIGIN)}

    answers = at_once(4, lambda n: APIClient().post("/api/v1/auth/passkeys/login/finish", body))

    assert sorted(a.status_code for a in answers) == [200, 401, 401, 401]
    assert AuditEvent.objects.filter(event="login_succeeded", user=user).count() == 1
    assert Passkey.objects.get().last_used_at is not None
