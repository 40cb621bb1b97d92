"""An access token is verified once per process (accounts.authentication, `_verified`): what its bytes
say is kept until its expiry, and everything that can change about its user is still checked on every
request (the revocations themselves: tests/accounts/test_user_cache.py, which warms each token first)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient
from rest_framework_simplejwt.backends import TokenBackend

from accounts import authentication
from accounts.models import User
from accounts.services.sessions import session_tokens
from tests.conftest import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _none_kept() -> Iterator[None]:
    authentication._verified.clear()
    yield
    authentication._verified.clear()


@pytest.fixture
def decodes(monkeypatch: pytest.MonkeyPatch) -> list[bytes]:
    """The tokens simplejwt decodes (its backend still does the work)."""
    seen: list[bytes] = []
    decode = TokenBackend.decode

    def counted(self: TokenBackend, token: Any, verify: bool = True) -> Any:
        seen.append(token)
        return decode(self, token, verify)

    monkeypatch.setattr(TokenBackend, "decode", counted)
    return seen


def _bearer(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def test_a_token_is_verified_once_and_then_kept(user: User, decodes: list[bytes]) -> None:
    client = client_for(user)

    for _ in range(3):
        assert client.get("/api/v1/lists").status_code == 200

    assert len(decodes) == 1
    assert len(authentication._verified) == 1


def test_a_kept_token_past_its_expiry_is_refused_as_one_never_seen(user: User) -> None:
    client, unseen = client_for(user), client_for(user)
    assert client.get("/api/v1/lists").status_code == 200

    with time_machine.travel(timezone.now() + timedelta(days=1), tick=False):
        response = client.get("/api/v1/lists")
        expected = unseen.get("/api/v1/lists")

    assert response.status_code == expected.status_code == 401
    assert {**response.json(), "request_id": ""} == {**expected.json(), "request_id": ""}
    assert authentication._verified == {}


def test_a_token_one_byte_from_a_kept_one_is_verified_and_refused(user: User, decodes: list[bytes]) -> None:
    token = session_tokens(user=user)["access"]
    assert _bearer(token).get("/api/v1/lists").status_code == 200
    forged = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]

    response = _bearer(forged).get("/api/v1/lists")

    assert response.status_code == 401
    assert len(decodes) == 2
    assert list(authentication._verified) == [token.encode()]


def test_a_refused_token_is_not_kept(user: User) -> None:
    header, payload, _signature = session_tokens(user=user)["access"].split(".")

    assert _bearer(f"{header}.{payload}.").get("/api/v1/lists").status_code == 401
    assert authentication._verified == {}


def test_at_most_so_many_tokens_are_kept_the_oldest_going_first(
    user: User, other_user: User, monkeypatch: pytest.MonkeyPatch, decodes: list[bytes]
) -> None:
    monkeypatch.setattr(authentication, "VERIFIED_TOKENS_KEPT", 2)
    tokens = [session_tokens(user=person)["access"] for person in (user, other_user, user)]

    for token in tokens:
        assert _bearer(token).get("/api/v1/lists").status_code == 200

    assert list(authentication._verified) == [tokens[1].encode(), tokens[2].encode()]
    # The first, no longer kept, is verified again, and still valid.
    assert _bearer(tokens[0]).get("/api/v1/lists").status_code == 200
    assert len(decodes) == 4
