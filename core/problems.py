"""RFC 9457 problem details for every error under /api/ (docs/api/errors.md).

`code` is the stable name clients switch on. Domain code raises `ProblemError` subclasses (or DRF's own
exceptions); `exception_handler` and the middleware turn everything into `application/problem+json`.
"""

from __future__ import annotations

import sys
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.settings import api_settings

from core.context import request_id_var
from core.dependencies import DATABASE
from core.ratelimit import count_failed_authentication

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEM_TYPE_BASE = "https://daymark.app/problems/"


class ProblemError(drf.APIException):
    """An API error with a stable `code`, and optional extra members for the problem body."""

    status_code = 400
    code = "validation_error"
    title = "Bad request"
    default_detail = "The request is invalid."

    def __init__(self, detail: str | None = None, *, entity: Any = None, **extra: Any) -> None:
        super().__init__(detail or self.default_detail, self.code)
        # The entity as it is now; the view renders it as `current` with its own serializer.
        self.entity = entity
        self.extra = extra


class VersionRequired(ProblemError):
    status_code = 428
    code = "version_required"
    title = "Version required"
    default_detail = "Say which version you edited: `version` in the body, `If-Match`, or `?version=`."


class VersionConflict(ProblemError):
    status_code = 409
    code = "version_conflict"
    title = "Version conflict"
    default_detail = "The entity changed since the version you edited, in fields you are setting."


class PreconditionFailed(ProblemError):
    status_code = 412
    code = "precondition_failed"
    title = "Precondition failed"
    default_detail = "If-Match does not name the current version."


class IdConflict(ProblemError):
    status_code = 409
    code = "id_conflict"
    title = "Id conflict"
    default_detail = "This id is already in use with other content."


class CursorExpired(ProblemError):
    status_code = 410
    code = "cursor_expired"
    title = "Cursor expired"
    default_detail = "The cursor is older than the retention window; do a full sync."


class IdempotencyKeyReused(ProblemError):
    status_code = 422
    code = "idempotency_key_reused"
    title = "Idempotency key reused"
    default_detail = "This Idempotency-Key was used with another request."


class IdempotencyKeyInUse(ProblemError):
    status_code = 409
    code = "idempotency_key_in_use"
    title = "Idempotency key in use"
    default_detail = "A request with this Idempotency-Key is still running; retry later."


class PayloadTooLarge(ProblemError):
    status_code = 413
    code = "payload_too_large"
    title = "Payload too large"
    default_detail = "The request body is larger than 1 MiB."


class RateLimited(ProblemError):
    status_code = 429
    code = "rate_limited"
    title = "Too many requests"
    default_detail = "Rate limit exceeded; retry after the time in Retry-After."

    def __init__(self, detail: str | None = None, *, wait: int | None = None) -> None:
        super().__init__(detail)
        self.wait = wait  # seconds, answered as Retry-After


def rate_limited_response(wait: int) -> JsonResponse:
    """The 429 for a refusal outside DRF (middleware)."""
    response = problem_response(429, RateLimited.code, str(RateLimited.default_detail), RateLimited.title)
    response["Retry-After"] = str(wait)
    return response


class ServiceUnavailable(ProblemError):
    status_code = 503
    code = "service_unavailable"
    title = "Service unavailable"
    default_detail = "The service cannot answer right now."


class DatabaseUnavailable(ServiceUnavailable):
    default_detail = "The database cannot be reached; retry after the seconds in Retry-After."

    def __init__(self) -> None:
        super().__init__()
        self.wait = settings.SERVICE_UNAVAILABLE_RETRY_AFTER_SECONDS


def database_unavailable(exc: BaseException) -> DatabaseUnavailable | None:
    """The 503 for an error that means the database cannot serve now (down, restarting, unreachable, no
    pooled connection within the pool timeout: Django's OperationalError and InterfaceError), else None.
    The failure is logged once per interval (core/dependencies.py), not once per request."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return None
    DATABASE.failed(exc)
    return DatabaseUnavailable()


def validation_error(errors: dict[str, Any] | list[Any] | str) -> drf.ValidationError:
    """A 400 `validation_error` naming the offending fields."""
    return drf.ValidationError(errors)


_DRF_CODES: list[tuple[type[Exception], str]] = [
    (drf.ParseError, "parse_error"),
    (drf.NotAuthenticated, "not_authenticated"),
    (drf.AuthenticationFailed, "authentication_failed"),
    (drf.PermissionDenied, "permission_denied"),
    (drf.NotFound, "not_found"),
    (drf.MethodNotAllowed, "method_not_allowed"),
    (drf.UnsupportedMediaType, "unsupported_media_type"),
    (drf.NotAcceptable, "not_acceptable"),
    (drf.Throttled, "rate_limited"),
    (drf.ValidationError, "validation_error"),
]


def problem_body(
    status: int, code: str, detail: str, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": PROBLEM_TYPE_BASE + code,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "request_id": request_id_var.get(),
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def problem_response(
    status: int, code: str, detail: str, title: str | None = None, **extra: Any
) -> JsonResponse:
    """A plain Django problem response, for errors raised outside DRF (middleware, URL resolution)."""
    return JsonResponse(
        problem_body(status, code, detail, title, **extra),
        status=status,
        content_type=PROBLEM_CONTENT_TYPE,
        json_dumps_params={"ensure_ascii": False},
    )


def flat_errors(detail: Any) -> dict[str, list[str]]:
    """Validation errors as docs/api/errors.md shows them: flat keys, each with a list of messages.

    Nested serializers become dotted keys (`preferences.focus_size`), list entries are indexed
    (`items[2].title`, `scopes[0]`); a nested serializer's own errors stay on its key (`onboarding`).
    """
    errors: dict[str, list[str]] = {}

    def walk(value: Any, where: str) -> None:
        if isinstance(value, dict):
            for key, child in value.items():
                if isinstance(key, int) or (isinstance(key, str) and key.isdigit()):
                    walk(child, f"{where}[{key}]")
                elif key == api_settings.NON_FIELD_ERRORS_KEY and where:
                    walk(child, where)
                else:
                    walk(child, f"{where}.{key}" if where else str(key))
        elif isinstance(value, list):
            for index, child in enumerate(value):
                if isinstance(child, dict | list):
                    walk(child, f"{where}[{index}]")  # a list serializer's entry ({} when it is valid)
                else:
                    walk(child, where)
        else:
            errors.setdefault(where or api_settings.NON_FIELD_ERRORS_KEY, []).append(str(value))

    walk(detail, "")
    return errors


def _flatten_detail(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _flatten_detail(detail[0])
    if isinstance(detail, dict):
        return _flatten_detail(detail["detail"]) if "detail" in detail else "The request has invalid fields."
    return str(detail)


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    """DRF's exception handler, answering problem+json with a stable `code`."""
    if isinstance(exc, Http404):
        exc = drf.NotFound("Not found.")
    elif isinstance(exc, DjangoPermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, RequestDataTooBig):
        exc = PayloadTooLarge()
    exc = database_unavailable(exc) or exc
    if not isinstance(exc, drf.APIException):
        return None
    request = context.get("request")
    if request is not None and _refuses_credentials(exc):
        wait = count_failed_authentication(request._request)
        if wait is not None:
            exc = RateLimited("Too many failed authentications from your address.", wait=wait)

    headers: dict[str, str] = {}
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    wait = getattr(exc, "wait", None)
    if wait is not None:
        headers["Retry-After"] = str(max(1, int(wait + 0.999)))

    extra: dict[str, Any] = {}
    if isinstance(exc, ProblemError):
        code, title = exc.code, exc.title
        extra = dict(exc.extra)
        detail = str(exc.detail)
        view = context.get("view")
        if (
            exc.entity is not None
            and "current" not in extra
            and view is not None
            and hasattr(view, "represent")
        ):
            extra["current"] = view.represent(exc.entity)
    else:
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), "server_error")
        title = None
        if isinstance(exc, drf.ValidationError):
            errors = flat_errors(exc.detail)
            extra["errors"] = errors
            detail = (
                _flatten_detail(exc.detail)
                if not isinstance(exc.detail, dict)
                else ("The request has invalid fields: " + ", ".join(sorted(str(k) for k in errors)) + ".")
            )
        else:
            detail = _flatten_detail(exc.detail)
    if code in ("not_authenticated", "authentication_failed") and "WWW-Authenticate" not in headers:
        headers["WWW-Authenticate"] = 'Bearer realm="api"'
    status = exc.status_code
    if status == 401 and code == "permission_denied":
        code = "authentication_failed"
    body = problem_body(status, code, detail, title, **extra)
    return Response(body, status=status, headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def _refuses_credentials(exc: drf.APIException) -> bool:
    """A 401 for credentials the client sent (an API key, a token, a password), not for missing ones."""
    return isinstance(exc, drf.AuthenticationFailed) or getattr(exc, "code", None) == "authentication_failed"


def is_api_path(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    """Django's 400 view (`handler400`): the answer to a request Django refuses before any middleware of
    ours can see it (an unknown `Host`, too many fields). Under /api/ it is a problem like every error."""
    if not is_api_path(request):
        return defaults.bad_request(request, exception)
    if isinstance(exception, DisallowedHost):
        detail = "The Host header names no host this server answers for."
    else:
        detail = "The request could not be read."
    return problem_response(400, "parse_error", detail)


def unavailable_response(exc: BaseException) -> JsonResponse | None:
    """For errors raised outside DRF's views (middleware): the 503 of `database_unavailable`, or None."""
    error = database_unavailable(exc)
    if error is None:
        return None
    response = problem_response(error.status_code, error.code, str(error.detail), error.title)
    response["Retry-After"] = str(error.wait)
    # Logged once per interval by database_unavailable; Django must not log a stack trace per request.
    response._has_been_logged = True  # type: ignore[attr-defined]
    return response


def server_error(request: HttpRequest) -> HttpResponse:
    """handler500: an error raised in middleware (outside DRF and ApiProblemMiddleware's reach) that means
    the database is unavailable is a 503 under /api/ too; anything else is Django's 500 (which
    ApiProblemMiddleware turns into a problem under /api/)."""
    error = sys.exc_info()[1]
    if is_api_path(request) and error is not None:
        unavailable = unavailable_response(error)
        if unavailable is not None:
            return unavailable
    return defaults.server_error(request)
