"""auth/password/reset and auth/password/reset/confirm (docs/api/authentication.md)."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from smtplib import SMTPDataError
from typing import Any, ClassVar

import pytest
from django.core import mail
from django.core.mail import EmailMessage
from django.core.mail.backends.base import BaseEmailBackend
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from rest_framework.test import APIClient
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from accounts.models import User
from accounts.services.sessions import session_tokens
from core.logging import JsonFormatter
from tests.factories import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db

RESET = "/api/v1/auth/password/reset"
CONFIRM = "/api/v1/auth/password/reset/confirm"
NEW = "another perfectly fine passphrase 7"


def request_token(api_client: APIClient, user: User) -> str:
    mail.outbox.clear()
    assert api_client.post(RESET, {"email": user.email.upper()}).status_code == 202
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [user.email]
    match = re.search(r"Your reset token: (\S+)", str(mail.outbox[0].body))
    assert match
    return match.group(1)


@pytest.fixture(autouse=True)
def _locmem_mail(settings: Any) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"


def test_it_answers_the_same_for_an_unknown_email(api_client: APIClient, user: User) -> None:
    known = api_client.post(RESET, {"email": user.email})
    unknown = api_client.post(RESET, {"email": "nobody@example.com"})
    assert (known.status_code, known.content) == (unknown.status_code, unknown.content) == (202, b"")
    assert len(mail.outbox) == 1


def test_it_sends_nothing_to_a_deactivated_user(api_client: APIClient, user: User) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert api_client.post(RESET, {"email": user.email}).status_code == 202
    assert mail.outbox == []


def test_the_token_sets_the_password_and_revokes_every_session(api_client: APIClient, user: User) -> None:
    sessions = [session_tokens(user=user)["refresh"] for _ in range(2)]
    token = request_token(api_client, user)
    assert api_client.post(CONFIRM, {"token": token, "new_password": NEW}).status_code == 204
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert not OutstandingToken.objects.filter(user=user, blacklistedtoken__isnull=True).exists()
    for refresh in sessions:
        assert api_client.post("/api/v1/auth/token/refresh", {"refresh": refresh}).status_code == 401
    login = api_client.post("/api/v1/auth/token", {"email": user.email, "password": NEW})
    assert login.status_code == 200


def test_the_token_works_once(api_client: APIClient, user: User) -> None:
    token = request_token(api_client, user)
    assert api_client.post(CONFIRM, {"token": token, "new_password": NEW}).status_code == 204
    again = api_client.post(CONFIRM, {"token": token, "new_password": NEW + "x"})
    assert again.status_code == 400
    assert "token" in again.json()["errors"]


def test_the_token_expires(api_client: APIClient, user: User, settings: Any) -> None:
    token = request_token(api_client, user)
    settings.PASSWORD_RESET_TIMEOUT = -1
    response = api_client.post(CONFIRM, {"token": token, "new_password": NEW})
    assert response.status_code == 400
    user.refresh_from_db()
    assert user.check_password(DEFAULT_PASSWORD)


def test_a_password_change_invalidates_the_token(api_client: APIClient, user: User) -> None:
    token = request_token(api_client, user)
    user.set_password("changed in the meantime 123")
    user.save()
    assert api_client.post(CONFIRM, {"token": token, "new_password": NEW}).status_code == 400


@pytest.mark.parametrize(
    "body",
    [
        {"token": "garbage", "new_password": NEW},
        {"token": "bm90LWEtdXVpZA.abc-def", "new_password": NEW},
        {"token": ".", "new_password": NEW},
        {"token": "x" * 513, "new_password": NEW},
        {"new_password": NEW},
        {"token": "a.b"},
        {"token": "a.b", "new_password": NEW, "email": "x@example.com"},
    ],
)
def test_confirm_rejects_bad_input(api_client: APIClient, body: dict[str, Any]) -> None:
    response = api_client.post(CONFIRM, body)
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "validation_error"


def test_confirm_rejects_a_weak_password_and_keeps_the_token(api_client: APIClient, user: User) -> None:
    token = request_token(api_client, user)
    weak = api_client.post(CONFIRM, {"token": token, "new_password": "password"})
    assert weak.status_code == 400
    assert "new_password" in weak.json()["errors"]
    assert api_client.post(CONFIRM, {"token": token, "new_password": NEW}).status_code == 204


@pytest.mark.parametrize("body", [{}, {"email": "not an email"}, {"email": "a@example.com", "extra": 1}])
def test_reset_rejects_bad_input(api_client: APIClient, body: dict[str, Any]) -> None:
    response = api_client.post(RESET, body)
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"


def test_another_users_token_cannot_be_made_from_mine(
    api_client: APIClient, user: User, other_user: User
) -> None:
    token = request_token(api_client, user)
    forged = urlsafe_base64_encode(force_bytes(other_user.pk)) + "." + token.partition(".")[2]
    assert api_client.post(CONFIRM, {"token": forged, "new_password": NEW}).status_code == 400
    other_user.refresh_from_db()
    assert other_user.check_password(DEFAULT_PASSWORD)


class BodyQuotingBackend(BaseEmailBackend):
    """A mail server that refuses the message and quotes it in its error, as some servers and encoders
    do. Keeps the bodies it was given, so the test knows the token."""

    bodies: ClassVar[list[str]] = []

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for message in email_messages:
            self.bodies.append(str(message.body))
            raise SMTPDataError(554, f"Message refused: {message.body}")
        return 0


def test_a_reset_token_never_reaches_the_logs_even_when_mail_fails(
    api_client: APIClient, user: User, settings: Any, caplog: pytest.LogCaptureFixture, capsys: Any
) -> None:
    settings.EMAIL_BACKEND = f"{__name__}.BodyQuotingBackend"
    BodyQuotingBackend.bodies.clear()
    caplog.set_level(logging.DEBUG)

    assert api_client.post(RESET, {"email": user.email}).status_code == 202

    [body] = BodyQuotingBackend.bodies
    match = re.search(r"Your reset token: (\S+)", body)
    assert match
    token_signature = match.group(1).split(".", 1)[1]
    formatter = JsonFormatter()
    logged = [formatter.format(record) for record in caplog.records]
    assert any("Could not send the password reset email" in line for line in logged)
    output = capsys.readouterr()
    assert token_signature not in "\n".join([*logged, output.out, output.err])
