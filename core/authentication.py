"""Authentication that runs once per request, however many layers ask who the caller is.

The idempotency layer needs the caller before the view runs (keys are stored per user), and so does the
rate limit of an answer given there; the view then authenticates as DRF always does. Authenticators built
on `OncePerRequest` keep their outcome (the user and credentials, or the refusal) on the Django request, so
an API key is looked up and a token verified once, and a refused credential is counted once.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING, Any

from django.http import HttpRequest
from django.urls import Resolver404, resolve
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import APIException
from rest_framework.parsers import BaseParser
from rest_framework.request import Request

if TYPE_CHECKING:
    from rest_framework.views import APIView

_OUTCOMES = "_authentication_outcomes"


class OncePerRequest(BaseAuthentication):
    """Subclasses implement `authenticate_once`; its result, or the APIException it raised, is kept."""

    def authenticate_once(self, request: Request) -> tuple[Any, Any] | None:
        raise NotImplementedError

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        outcomes: dict[str, Any] = request._request.__dict__.setdefault(_OUTCOMES, {})
        name = type(self).__qualname__
        if name not in outcomes:
            try:
                outcomes[name] = self.authenticate_once(request)
            except APIException as refusal:
                outcomes[name] = refusal
        outcome = outcomes[name]
        if isinstance(outcome, APIException):
            raise outcome
        return outcome


def authenticated(
    request: HttpRequest,
    authenticators: Sequence[type[BaseAuthentication]],
    parsers: Sequence[type[BaseParser]] = (),
) -> Request:
    """A DRF request for `request`, authenticated by `authenticators` before the view runs. Refused
    credentials leave it anonymous (the view gives the answer for them); `request.user` stays as it was."""
    had_user, original = "user" in request.__dict__, request.__dict__.get("user")
    drf_request = Request(
        request,
        parsers=[parser() for parser in parsers],
        authenticators=[authenticator() for authenticator in authenticators],
    )
    try:
        with suppress(APIException):
            drf_request.user  # noqa: B018
    finally:
        # DRF's Request writes the user onto the Django request; leave it as it was.
        if had_user:
            request.__dict__["user"] = original
        else:
            request.__dict__.pop("user", None)
    return drf_request


def view_class(request: HttpRequest) -> type[APIView] | None:
    """The DRF view class that will serve `request`, or None (no route, or not a DRF view)."""
    from rest_framework.views import APIView  # here: DRF's views import the authenticators

    try:
        found = getattr(resolve(request.path_info).func, "cls", None)
    except Resolver404:
        return None
    return found if isinstance(found, type) and issubclass(found, APIView) else None


def refused_by_view(request: HttpRequest) -> bool:
    """Whether the view that serves `request` refuses the credentials it carries (a bad API key or token):
    the view then answers 401 (or 429, counted per IP) before doing anything else. Layers that answer
    before the view must leave such a request to it, or they would be a way to try credentials uncounted,
    and their answer would tell a valid credential from a refused one."""
    cls = view_class(request)
    if cls is None or not cls.authentication_classes:
        return False
    authenticated(request, cls.authentication_classes, cls.parser_classes)
    outcomes = request.__dict__.get(_OUTCOMES, {})
    return any(isinstance(outcomes.get(a.__qualname__), APIException) for a in cls.authentication_classes)
