"""Refused credentials (bad API keys, bad or forged bearer tokens, wrong passwords) are counted per client IP
on a real Redis: beyond RATE_LIMIT_AUTH_FAILURES_PER_IP they answer 429, in every process, while valid
credentials from the same address keep working."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services.api_keys import api_key_create
from accounts.services.sessions import session_tokens
from tests.conftest import LIVE_SERVERS
from tests.core.test_ratelimit import redis_cache, status_of, two_servers  # noqa: F401  (the fixture)
from tests.ratelimit_clock import clear_of_window_edge

pytestmark = pytest.mark.django_db
LISTS_URL = "/api/v1/lists"


def _wrong_key() -> str:
    return f"dmk_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"


def _from(ip: str, authorization: str) -> dict[str, Any]:
    return {"HTTP_X_FORWARDED_FOR": ip, "HTTP_AUTHORIZATION": authorization}


def _bearer(user: User) -> str:
    return f"Bearer {session_tokens(user=user)['access']}"


@pytest.fixture
def behind_proxy(redis_cache: str, settings: Any) -> None:  # noqa: F811
    settings.TRUSTED_PROXIES = ["127.0.0.1/32"]
    settings.RATE_LIMIT_AUTH_FAILURES_PER_IP = "5/h"


def test_wrong_api_keys_from_one_ip_are_refused_with_429_beyond_the_budget(behind_proxy: None) -> None:
    client = APIClient()
    answers = [client.get(LISTS_URL, **_from("198.51.100.1", f"Api-Key {_wrong_key()}")) for _ in range(8)]

    assert [a.status_code for a in answers] == [401] * 5 + [429] * 3
    refused = answers[-1]
    assert refused["Content-Type"] == "application/problem+json"
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused["Retry-After"]) <= 3600
    assert '"auth-failures-ip";q=5;w=3600' in refused["RateLimit-Policy"]
    assert '"auth-failures-ip";r=0;' in refused["RateLimit"]
    assert answers[0]["RateLimit"].startswith('"auth-failures-ip";r=4;')


def test_forged_and_malformed_bearer_tokens_count_too(behind_proxy: None, user: User) -> None:
    client = APIClient()
    forged = _bearer(user)[:-4] + "AAAA"
    attempts = [forged, "Bearer not-a-token", "Bearer", f"Api-Key {_wrong_key()}", forged, forged]

    statuses = [client.get(LISTS_URL, **_from("198.51.100.2", a)).status_code for a in attempts]

    assert statuses == [401] * 5 + [429]


def test_bad_refresh_tokens_and_wrong_passwords_count_too(behind_proxy: None, user: User) -> None:
    client = APIClient()
    ip: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": "198.51.100.7"}
    statuses = [
        client.post("/api/v1/auth/token/refresh", {"refresh": "forged"}, **ip).status_code for _ in range(3)
    ]
    statuses += [
        client.post(
            "/api/v1/auth/token", {"email": f"u{n}@example.com", "password": "x" * 12}, **ip
        ).status_code
        for n in range(3)
    ]

    assert statuses == [401] * 5 + [429]


def test_other_addresses_keep_their_own_budget(behind_proxy: None) -> None:
    client = APIClient()
    for _ in range(6):
        client.get(LISTS_URL, **_from("198.51.100.3", f"Api-Key {_wrong_key()}"))

    assert client.get(LISTS_URL, **_from("198.51.100.4", f"Api-Key {_wrong_key()}")).status_code == 401


def test_valid_credentials_from_a_refused_address_still_work(behind_proxy: None, user: User) -> None:
    client = APIClient()
    for _ in range(6):
        client.get(LISTS_URL, **_from("198.51.100.5", f"Api-Key {_wrong_key()}"))
    _, key = api_key_create(user=user, name="ci", scopes=["read"], expires_at=None)
    token = _bearer(user)

    assert client.get(LISTS_URL, **_from("198.51.100.5", f"Api-Key {key}")).status_code == 200
    assert client.get(LISTS_URL, **_from("198.51.100.5", token)).status_code == 200


def test_missing_credentials_are_not_failures(behind_proxy: None) -> None:
    client = APIClient()
    statuses = [client.get(LISTS_URL, HTTP_X_FORWARDED_FOR="198.51.100.6").status_code for _ in range(7)]

    assert statuses == [401] * 7


@LIVE_SERVERS
def test_two_processes_share_the_failure_budget(redis_cache: str, tmp_path: Path) -> None:  # noqa: F811
    with two_servers(tmp_path, redis_cache, RATE_LIMIT_AUTH_FAILURES_PER_IP="5/h") as ports:
        clear_of_window_edge("5/h")
        statuses = [
            status_of(
                f"http://127.0.0.1:{ports[n % 2]}{LISTS_URL}",
                headers={"Authorization": f"Api-Key {_wrong_key()}"},
            )
            for n in range(8)
        ]
    assert statuses == [401] * 5 + [429] * 3


def test_wrong_keys_behind_an_already_used_idempotency_key_are_refused_and_counted(
    behind_proxy: None, user: User
) -> None:
    client = APIClient()
    ip: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": "198.51.100.8", "HTTP_IDEMPOTENCY_KEY": "used"}
    assert client.post("/api/v1/auth/register", {"email": "not-an-email"}, **ip).status_code == 400

    answers = [
        client.post(LISTS_URL, {"name": "x"}, HTTP_AUTHORIZATION=f"Api-Key {_wrong_key()}", **ip)
        for _ in range(7)
    ]

    assert [a.status_code for a in answers] == [401] * 5 + [429] * 2
    assert answers[0]["WWW-Authenticate"]


def test_wrong_keys_with_an_invalid_idempotency_key_are_refused_and_counted(behind_proxy: None) -> None:
    client = APIClient()
    ip: dict[str, Any] = {"HTTP_X_FORWARDED_FOR": "198.51.100.9", "HTTP_IDEMPOTENCY_KEY": "k" * 256}

    statuses = [
        client.post(LISTS_URL, {}, HTTP_AUTHORIZATION=f"Api-Key {_wrong_key()}", **ip).status_code
        for _ in range(7)
    ]

    assert statuses == [401] * 5 + [429] * 2
