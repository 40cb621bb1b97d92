"""Access tokens are accepted only when signed with our own key, by the configured algorithm, for our
issuer and audience, unexpired, and of the access type; refresh tokens work once."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.models import User
from accounts.services.sessions import session_tokens
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db


def _claims(user: User, **overrides: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    claims = {
        "token_type": "access",
        "exp": int((now + timedelta(minutes=5)).timestamp()),
        "iat": int(now.timestamp()),
        "jti": "0123456789abcdef",
        "sub": str(user.pk),
        "aud": settings.SIMPLE_JWT["AUDIENCE"],
        "iss": settings.SIMPLE_JWT["ISSUER"],
        "hash_password": _password_hash_claim(user),
    }
    claims.update(overrides)
    return claims


def _password_hash_claim(user: User) -> str:
    # The revoke claim simplejwt writes, so that only the property under test differs.
    access = session_tokens(user=user)["access"]
    return str(jwt.decode(access, options={"verify_signature": False})["hash_password"])


def _sign(claims: dict[str, Any], key: str | None = None, algorithm: str = "HS256") -> str:
    return jwt.encode(claims, key or settings.SIMPLE_JWT["SIGNING_KEY"], algorithm=algorithm)


def _get(token: str) -> Any:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client.get("/api/v1/lists")


def _assert_rejected(response: Any) -> None:
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"]


def test_a_well_formed_token_is_accepted(user: User) -> None:
    assert _get(_sign(_claims(user))).status_code == 200


def test_it_rejects_alg_none(user: User) -> None:
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    token = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(_claims(user))}."
    _assert_rejected(_get(token))


def test_it_rejects_a_wrong_signature(user: User) -> None:
    _assert_rejected(_get(_sign(_claims(user), key="not-our-signing-key-at-all-0123456789")))


@pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")
def test_it_rejects_a_token_signed_with_the_django_secret_key(user: User) -> None:
    assert settings.SIMPLE_JWT["SIGNING_KEY"] != settings.SECRET_KEY
    _assert_rejected(_get(_sign(_claims(user), key=settings.SECRET_KEY)))


def test_it_rejects_another_algorithm_even_with_our_key(user: User) -> None:
    _assert_rejected(_get(_sign(_claims(user), algorithm="HS512")))


def test_it_rejects_an_expired_token(user: User) -> None:
    past = int((datetime.now(UTC) - timedelta(seconds=1)).timestamp())
    _assert_rejected(_get(_sign(_claims(user, exp=past))))


@pytest.mark.parametrize("claim", ["aud", "iss"])
def test_it_rejects_a_wrong_audience_or_issuer(user: User, claim: str) -> None:
    _assert_rejected(_get(_sign(_claims(user, **{claim: "someone-else"}))))


@pytest.mark.parametrize("claim", ["aud", "iss"])
def test_it_rejects_a_missing_audience_or_issuer(user: User, claim: str) -> None:
    claims = _claims(user)
    del claims[claim]
    _assert_rejected(_get(_sign(claims)))


@pytest.mark.parametrize("sub", ["not-a-uuid", "1", 7, None, ["x"]])
def test_a_token_whose_subject_is_no_uuid_is_401(user: User, sub: Any) -> None:
    _assert_rejected(_get(_sign(_claims(user, sub=sub))))


@pytest.mark.parametrize("sub", ["not-a-uuid", "1", 7, None])
def test_a_refresh_token_whose_subject_is_no_uuid_is_401(user: User, api_client: APIClient, sub: Any) -> None:
    claims = _claims(user, token_type="refresh", sub=sub, jti=uuid.uuid4().hex)
    _assert_rejected(api_client.post("/api/v1/auth/token/refresh", {"refresh": _sign(claims)}))


def test_it_rejects_a_refresh_token_used_as_an_access_token(user: User) -> None:
    _assert_rejected(_get(session_tokens(user=user)["refresh"]))


def test_it_rejects_a_refresh_token_reused_after_rotation(user: User, api_client: APIClient) -> None:
    refresh = session_tokens(user=user)["refresh"]
    first = api_client.post("/api/v1/auth/token/refresh", {"refresh": refresh})
    assert first.status_code == 200
    _assert_rejected(api_client.post("/api/v1/auth/token/refresh", {"refresh": refresh}))


def test_it_rejects_a_refresh_token_reused_after_logout(user: User, api_client: APIClient) -> None:
    tokens = session_tokens(user=user)
    api_client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert api_client.post("/api/v1/auth/logout", {"refresh": tokens["refresh"]}).status_code == 204
    _assert_rejected(APIClient().post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}))


def test_a_deactivated_user_can_neither_log_in_nor_refresh_nor_use_a_token(
    user: User, api_client: APIClient
) -> None:
    tokens = session_tokens(user=user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    login = api_client.post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD})
    _assert_rejected(login)
    _assert_rejected(api_client.post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]}))
    _assert_rejected(_get(tokens["access"]))
