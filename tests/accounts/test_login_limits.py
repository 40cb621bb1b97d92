"""The per-email login limit counts failed attempts only and cannot lock the owner out of an address they
logged in from; guessing stays throttled (accounts/login_limits.py), on a real Redis."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pytest
from django.db import connections
from rest_framework.test import APIClient

from accounts.models import AuditEvent, User
from accounts.services.api_keys import api_key_create
from tests.core.test_ratelimit import redis_cache  # noqa: F401  (the fixture)
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db
TOKEN_URL = "/api/v1/auth/token"
ATTACKER, VICTIM, ELSEWHERE = "198.51.100.10", "203.0.113.20", "192.0.2.30"


@pytest.fixture
def login(redis_cache: str, settings: Any) -> Any:  # noqa: F811
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    settings.RATE_LIMIT_TOKEN_PER_EMAIL = "5/h"
    settings.RATE_LIMIT_TOKEN_PER_IP = "100/h"
    client = APIClient()

    def attempt(email: str, password: str, ip: str) -> Any:
        return client.post(TOKEN_URL, {"email": email, "password": password}, HTTP_X_FORWARDED_FOR=ip)

    return attempt


def test_an_attacker_cannot_lock_the_owner_out_of_an_address_they_logged_in_from(
    login: Any, user: User
) -> None:
    assert login(user.email, DEFAULT_PASSWORD, VICTIM).status_code == 200

    guesses = [login(user.email, f"guess {n}", ATTACKER).status_code for n in range(8)]
    assert guesses == [401] * 5 + [429] * 3

    owner = login(user.email, DEFAULT_PASSWORD, VICTIM)
    assert owner.status_code == 200
    assert '"token-email-ip";q=5;w=3600' in owner["RateLimit-Policy"]
    # Brute force from A stays throttled, even when it hits the password.
    assert login(user.email, DEFAULT_PASSWORD, ATTACKER).status_code == 429
    assert login(user.email, "guess again", ATTACKER).status_code == 429


def test_an_address_new_to_the_account_waits_while_the_account_is_attacked(login: Any, user: User) -> None:
    for n in range(5):
        login(user.email, f"guess {n}", ATTACKER)

    refused = login(user.email, DEFAULT_PASSWORD, ELSEWHERE)

    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert '"token-email";r=0;' in refused["RateLimit"]


def test_a_known_address_has_its_own_budget_of_failures(login: Any, user: User) -> None:
    assert login(user.email, DEFAULT_PASSWORD, VICTIM).status_code == 200

    typos = [login(user.email, f"typo {n}", VICTIM).status_code for n in range(6)]

    assert typos == [401] * 5 + [429]
    assert login(user.email, DEFAULT_PASSWORD, VICTIM).status_code == 429


def test_successful_logins_do_not_spend_the_email_budget(login: Any, user: User) -> None:
    statuses = [login(user.email, DEFAULT_PASSWORD, ELSEWHERE).status_code for _ in range(8)]

    assert statuses == [200] * 8


def test_the_first_refusal_of_a_window_is_audited_once(login: Any, user: User) -> None:
    for n in range(9):
        login(user.email, f"guess {n}", ATTACKER)

    hits = AuditEvent.objects.filter(event=AuditEvent.Event.RATE_LIMITED)
    assert [(e.email, e.metadata["policy"], e.ip) for e in hits] == [(user.email, "token-email", ATTACKER)]


def test_the_email_is_matched_as_the_account_normalises_it(login: Any, user: User) -> None:
    local, domain = user.email.split("@")
    for n in range(5):
        login(f"{local}@{domain.upper()}", f"guess {n}", ATTACKER)

    assert login(user.email, DEFAULT_PASSWORD, ELSEWHERE).status_code == 429


@pytest.mark.parametrize(
    ("method", "url", "field", "body"),
    [
        (
            "post",
            "/api/v1/auth/password/change",
            "current_password",
            {"new_password": "a new long passphrase"},
        ),
        ("delete", "/api/v1/user", "password", {}),
    ],
)
def test_a_stolen_api_key_cannot_guess_the_password_faster_than_a_login(
    login: Any, user: User, method: str, url: str, field: str, body: dict[str, str]
) -> None:
    _, key = api_key_create(user=user, name="leaked", scopes=["read", "write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}", HTTP_X_FORWARDED_FOR=ATTACKER)

    answers = [getattr(client, method)(url, {**body, field: f"guess {n}"}) for n in range(7)]

    assert [a.status_code for a in answers] == [400] * 5 + [429] * 2
    assert answers[-1]["Retry-After"]
    assert User.objects.filter(pk=user.pk).exists()
    assert login(user.email, DEFAULT_PASSWORD, ELSEWHERE).status_code == 429  # as after failed logins


@pytest.mark.postgres  # SQLite's test database locks its tables under concurrent audit writes
@pytest.mark.django_db(transaction=True)
def test_guesses_sent_at_once_get_no_more_password_checks_than_the_budget(
    redis_cache: str,  # noqa: F811
    settings: Any,
) -> None:
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.Argon2PasswordHasher"]  # a real, slow check
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    settings.RATE_LIMIT_TOKEN_PER_EMAIL = "5/h"
    victim = cast(User, UserFactory())

    def guess(n: int) -> int:
        try:
            return (
                APIClient()
                .post(
                    TOKEN_URL,
                    {"email": victim.email, "password": f"guess {n}"},
                    HTTP_X_FORWARDED_FOR=f"198.51.100.{n}",
                )
                .status_code
            )
        finally:
            connections.close_all()

    with ThreadPoolExecutor(8) as pool:
        statuses = Counter(pool.map(guess, range(24)))

    assert statuses == {401: 5, 429: 19}
