"""Who opens a socket: a ticket in the query string, or `Authorization: Bearer ...` / `Api-Key ...` on the
upgrade, checked by the same authentication classes as every REST request (signature, expiry, revocation,
an active user, an unrevoked key)."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from django.http import HttpRequest
from rest_framework.exceptions import APIException

from accounts.authentication import ApiKeyAuthentication, JWTAuthentication
from accounts.models import User
from core.authentication import authenticated
from live.tickets import ticket_redeem


def _header(scope: dict[str, Any], name: bytes) -> str:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return ""


def socket_user(scope: dict[str, Any]) -> User | None:
    """The active user the upgrade request authenticates, or None. Runs in a thread (it reads the
    database)."""
    query = parse_qs(bytes(scope.get("query_string", b"")).decode("latin-1"))
    tickets = query.get("ticket")
    if tickets:
        user_id = ticket_redeem(ticket=tickets[0])
        return User.objects.filter(pk=user_id, is_active=True).first() if user_id else None
    authorization = _header(scope, b"authorization")
    if not authorization:
        return None
    request = HttpRequest()
    # GET, so a read-only API key may listen (a socket writes nothing).
    request.method = "GET"
    request.path = request.path_info = scope.get("path", "")
    request.META = {"HTTP_AUTHORIZATION": authorization, "REQUEST_METHOD": "GET"}
    client = scope.get("client")
    if client:
        request.META["REMOTE_ADDR"] = client[0]
    drf_request = authenticated(request, [JWTAuthentication, ApiKeyAuthentication])
    try:
        user = drf_request.user
    except APIException:
        return None
    return user if isinstance(user, User) and user.is_active else None
