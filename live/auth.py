"""Who opens a socket: a ticket in the query string, or `Authorization: Bearer ...` / `Api-Key ...` on the
upgrade, checked by the same authentication classes as every REST request (signature, expiry, revocation,
an active user, an unrevoked key). A refused ticket or credential counts against the client address's
budget of failed authentications, as a refused REST login or token does (core.ratelimit)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from django.http import HttpRequest
from rest_framework.exceptions import APIException

from accounts.authentication import ApiKeyAuthentication, JWTAuthentication
from accounts.models import User
from core.authentication import authenticated
from core.ratelimit import count_failed_authentication
from live.tickets import ticket_redeem


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


class Refused:
    """No user: `retry_after` is set when the address has used up its failed authentications (the socket
    closes 4429 instead of 4401)."""

    def __init__(self, retry_after: int | None = None) -> None:
        self.retry_after = retry_after


def socket_user(scope: dict[str, Any]) -> User | Refused:
    """The active user the upgrade request authenticates, or Refused. Runs in a thread (it reads the
    database)."""
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    tickets = query.get("ticket")
    if tickets:
        user_id = ticket_redeem(ticket=tickets[0])
        holder = User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
        return holder if holder is not None else _refused(scope)
    authorization = _header(scope, b"authorization")
    if not authorization:
        return Refused()  # no credentials at all: nothing was guessed
    request = _request(scope)
    request.META["HTTP_AUTHORIZATION"] = authorization
    drf_request = authenticated(request, [JWTAuthentication, ApiKeyAuthentication])
    try:
        user = drf_request.user
    except APIException:
        return _refused(scope)
    return user if isinstance(user, User) and user.is_active else _refused(scope)


def _refused(scope: dict[str, Any]) -> Refused:
    return Refused(count_failed_authentication(_request(scope)))


def _request(scope: dict[str, Any]) -> HttpRequest:
    """The upgrade as a Django request, for the authentication classes and the client's address."""
    request = HttpRequest()
    # GET, so a read-only API key may listen (a socket writes nothing).
    request.method = "GET"
    request.path = request.path_info = scope.get("path", "")
    request.META = {"REQUEST_METHOD": "GET"}
    client = scope.get("client")
    if client:
        request.META["REMOTE_ADDR"] = client[0]
    forwarded = _header(scope, b"x-forwarded-for")
    if forwarded:
        request.META["HTTP_X_FORWARDED_FOR"] = forwarded
    return request
