"""`Idempotency-Key` on every POST under /api/ (docs/api/idempotency.md).

A middleware, so it holds for every POST endpoint, including ones added later, whatever view class they
use. DRF authenticates lazily inside the view, so the middleware authenticates the request itself with
the same `DEFAULT_AUTHENTICATION_CLASSES` (which keep their outcome on the request: the view does not
authenticate again): keys are stored per user. A request without valid credentials
(the `auth/*` endpoints that create a session: a retried `auth/token/refresh` must get its tokens again,
not "refresh token reused", even when the client still attaches its expired access token) is recorded in
one anonymous scope, where only the same body (password or refresh token included) replays. Its 401 and
403 answers (credentials missing or refused by a view that needs them) are not kept.

The key's row is inserted and committed before the request runs, with no status yet: a duplicate in any
server process then finds it and answers 409 `idempotency_key_in_use` until the first stores its answer.
A unique constraint on (user, key) decides which of two simultaneous requests is first. Answers that say
the request did not really run (429, 5xx) are not kept, so the client can retry with the same key; so is
a key left "in progress" by a process that died.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import timedelta
from typing import Any, cast

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from rest_framework.authentication import BaseAuthentication
from rest_framework.settings import api_settings

from core.authentication import authenticated, refused_by_view
from core.middleware import Handler
from core.models import IdempotencyKey
from core.problems import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    ProblemError,
    is_api_path,
    problem_response,
    rate_limited_response,
)
from core.ratelimit import throttle_before_view

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAYED_HEADERS = ("Content-Type", "ETag", "Location")
# No request runs this long (the server's worker timeout is far shorter): a key still "in progress" after
# it belongs to a process that died, and is given back rather than blocking the client for a day.
ABANDONED_AFTER = timedelta(minutes=5)


def _problem(error: ProblemError) -> HttpResponse:
    return problem_response(error.status_code, error.code, str(error.detail), error.title)


def _valid_key(key: str) -> bool:
    return 0 < len(key) <= MAX_KEY_LENGTH and key.isascii() and key.isprintable()


def _authenticated_user(request: HttpRequest) -> Any | None:
    """The user DRF will authenticate for this request, or None; errors are left for the view to answer."""
    classes = cast(list[type[BaseAuthentication]], api_settings.DEFAULT_AUTHENTICATION_CLASSES)
    user = authenticated(request, classes).user
    return user if user is not None and getattr(user, "is_authenticated", False) else None


def _derived_key(purpose: str, secret: str) -> bytes:
    return hashlib.sha256(f"daymark-idempotency-{purpose}:{secret}".encode()).digest()


def _secrets() -> list[str]:
    return [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]


def request_hashes(request: HttpRequest) -> list[str]:
    """Keyed hashes of the request, under the current secret key first, then its fallbacks (so a retry
    during a key rotation still matches). Keyed: bodies hold passwords and tokens (auth/*), and a plain
    hash of a password is a cheap offline guess."""
    hashes = []
    for secret in _secrets():
        digest = hmac.new(_derived_key("hash", secret), digestmod=hashlib.sha256)
        for part in (request.method or "", request.get_full_path()):
            digest.update(part.encode())
            digest.update(b"\0")
        digest.update(request.body)
        hashes.append(digest.hexdigest())
    return hashes


def _box() -> MultiFernet:
    """Stored answers are encrypted: they can hold secrets shown once (a new API key, session tokens).
    Keys derive from SECRET_KEY and its fallbacks, so rotating it keeps replays working meanwhile."""
    return MultiFernet([Fernet(base64.urlsafe_b64encode(_derived_key("box", s))) for s in _secrets()])


def seal(body: bytes) -> bytes:
    return _box().encrypt(body)


def unseal(stored: bytes) -> bytes | None:
    try:
        return _box().decrypt(stored)
    except InvalidToken:
        return None


def _claim(user: Any, key: str, digests: list[str]) -> IdempotencyKey | HttpResponse:
    """The new in-progress row for this key, or the answer for a key already used."""
    now = timezone.now()
    expired_before = now - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS)
    for _attempt in range(3):
        try:
            with transaction.atomic():
                return IdempotencyKey.objects.create(user=user, key=key, request_hash=digests[0])
        except IntegrityError:
            pass
        existing = IdempotencyKey.objects.filter(user=user, key=key).first()
        if existing is None:  # the first request failed and gave the key back
            continue
        abandoned = existing.in_progress and existing.created_at < now - ABANDONED_AFTER
        if existing.created_at < expired_before or abandoned:
            IdempotencyKey.objects.filter(pk=existing.pk, created_at=existing.created_at).delete()
            continue
        if existing.request_hash not in digests:
            return _problem(IdempotencyKeyReused())
        if existing.in_progress:
            return _problem(IdempotencyKeyInUse())
        return _replay(existing)
    return _problem(IdempotencyKeyInUse())


def _replay(record: IdempotencyKey) -> HttpResponse:
    body = unseal(bytes(record.response_body))
    if body is None:  # sealed under a secret key no longer configured: the answer cannot be given again
        return _problem(
            IdempotencyKeyInUse("The stored answer for this key can no longer be read; use a new key.")
        )
    headers = dict(record.response_headers)
    response = HttpResponse(
        body,
        status=record.status_code or 200,
        content_type=headers.pop("Content-Type", None),
    )
    for name, value in headers.items():
        response[name] = value
    response["Idempotent-Replayed"] = "true"
    return response


def _keeps(response: HttpResponse) -> bool:
    """Whether the answer is the outcome of the request (rather than "it did not run, retry")."""
    return not response.streaming and response.status_code != 429 and response.status_code < 500


class IdempotencyKeyMiddleware:
    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method != "POST" or not is_api_path(request):
            return self.get_response(request)
        if refused_by_view(request):
            # The view refuses these credentials before it does anything, and counts them per client IP; a
            # replay, 409 or 422 given here instead would let a client try keys and tokens uncounted.
            return self.get_response(request)
        if not _valid_key(key):
            wait = throttle_before_view(request)
            return (
                rate_limited_response(wait)
                if wait is not None
                else problem_response(
                    400,
                    "validation_error",
                    f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters.",
                    errors={HEADER: [f"At most {MAX_KEY_LENGTH} printable ASCII characters."]},
                )
            )
        user = _authenticated_user(request)

        claimed = _claim(user, key, request_hashes(request))
        if isinstance(claimed, HttpResponse):
            # Answered without running the view, so without its throttle: spend the same budgets here, or
            # replaying a key would be a way around the rate limit.
            wait = throttle_before_view(request)
            return rate_limited_response(wait) if wait is not None else claimed
        try:
            response = self.get_response(request)
        except BaseException:
            IdempotencyKey.objects.filter(pk=claimed.pk).delete()
            raise
        if _keeps(response) and not (user is None and response.status_code in (401, 403)):
            IdempotencyKey.objects.filter(pk=claimed.pk).update(
                status_code=response.status_code,
                response_body=seal(bytes(response.content)),
                response_headers={name: response[name] for name in REPLAYED_HEADERS if name in response},
            )
        else:
            IdempotencyKey.objects.filter(pk=claimed.pk).delete()
        return response
