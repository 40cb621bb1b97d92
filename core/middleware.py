"""Request plumbing that must hold for every request, including those DRF never sees."""

from __future__ import annotations

import io
import logging
import re
import time
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.context import client_ip_var, request_id_var, user_agent_var, user_id_var
from core.problems import PayloadTooLarge, is_api_path, problem_response, unavailable_response
from core.ratelimit import client_ip, ratelimit_headers

logger = logging.getLogger("daymark.request")
access_logger = logging.getLogger("daymark.access")

Handler = Callable[[HttpRequest], HttpResponse]
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:\-]{8,128}$")


class RequestIdMiddleware:
    """Takes `X-Request-ID` when it is a sane token, otherwise makes one; echoes it on every response."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _SANE_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = request_id  # type: ignore[attr-defined]
        token = request_id_var.set(request_id)
        user_token = user_id_var.set("-")
        try:
            response = self.get_response(request)
        finally:
            request_id_var.reset(token)
            user_id_var.reset(user_token)
        response["X-Request-ID"] = request_id
        return response


class ClientContextMiddleware:
    """Puts the caller's IP and user agent in the context (for the audit log and the access log) and the
    rate-limit headers of the budgets the request spent on the answer. Sits inside RequestIdMiddleware."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ip_token = client_ip_var.set(client_ip(request) or None)
        agent_token = user_agent_var.set(request.headers.get("User-Agent", "")[:512])
        try:
            response = self.get_response(request)
        finally:
            client_ip_var.reset(ip_token)
            user_agent_var.reset(agent_token)
        for name, value in ratelimit_headers(getattr(request, "rate_limit_usages", ())).items():
            response[name] = value
        return response


class AccessLogMiddleware:
    """One line per request: method, route pattern (never the raw path, which holds ids), status, duration,
    user id and client IP. Never bodies or headers. Sits inside RequestIdMiddleware, so the request id is
    set; reads the user id after the view ran, because DRF authenticates lazily inside it."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        duration_ms = round((time.perf_counter() - started) * 1000, 2)
        route = route_pattern(request)
        status = response.status_code
        level = logging.ERROR if status >= 500 else logging.WARNING if status >= 400 else logging.INFO
        access_logger.log(
            level,
            "%s %s %s %.1fms",
            request.method,
            route,
            status,
            duration_ms,
            extra={
                "method": request.method,
                "route": route,
                "status": status,
                "duration_ms": duration_ms,
                "user_id": user_id_var.get(),
                "client_ip": client_ip_var.get() or "-",
            },
        )
        return response


def route_pattern(request: HttpRequest) -> str:
    """The URL pattern that matched (`api/v1/items/{pk}`), or `-` when none did."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return "-"
    return _readable_route(match.route)


def _readable_route(route: str) -> str:
    """Router patterns are regexes: `^items/(?P<pk>[0-9a-f]{8}...)$` reads as `items/{pk}`."""
    out: list[str] = []
    i = 0
    while i < len(route):
        if route.startswith("(?P<", i):
            name_end = route.index(">", i)
            name = route[i + 4 : name_end]
            depth, j = 0, i
            while j < len(route):
                if route[j] == "\\":
                    j += 2
                    continue
                depth += route[j] == "("
                depth -= route[j] == ")"
                j += 1
                if depth == 0:
                    break
            out.append("{" + name + "}")
            i = j
        elif route[i] in "^$":
            i += 1
        else:
            out.append(route[i])
            i += 1
    return "".join(out)


class BodySizeLimitMiddleware:
    """Refuses bodies over MAX_REQUEST_BODY_BYTES with 413 before anything reads them.

    DRF reads the request stream directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE check alone would not
    catch an oversized JSON body; this is the one place the limit holds for every endpoint.

    A chunked body (`Transfer-Encoding: chunked`, no `Content-Length`) is read here, up to the limit, when
    the server marks its input as ending with the body (`wsgi.input_terminated`, as gunicorn does); the
    request then goes on with that body and its length, since Django and DRF read a request without
    `Content-Length` as empty. A server that cannot say where such a body ends gets 411: a body is never
    taken for empty.
    """

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        limit = settings.MAX_REQUEST_BODY_BYTES
        length = request.META.get("CONTENT_LENGTH") or ""
        too_large = False
        if length:
            try:
                too_large = int(length) > limit
            except ValueError:
                return problem_response(400, "parse_error", "Content-Length is not a number.")
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            if not request.META.get("wsgi.input_terminated"):
                return problem_response(
                    411, "length_required", "This server needs a Content-Length on request bodies."
                )
            try:
                body = request.META["wsgi.input"].read(limit + 1)
            except Exception:  # the server's own errors for a malformed chunk, or a client that went away
                response = problem_response(400, "parse_error", "The chunked request body could not be read.")
                response["Connection"] = "close"
                return response
            too_large = len(body) > limit
            request._body = body
            request._stream = io.BytesIO(body)
            request.META["CONTENT_LENGTH"] = str(len(body))
        if too_large:
            error = PayloadTooLarge(f"The request body is larger than {limit} bytes.")
            response = problem_response(413, error.code, str(error.detail), error.title)
            response["Connection"] = "close"
            return response
        return self.get_response(request)


class ApiProblemMiddleware:
    """Under /api/, every error is problem+json: unknown URLs, Django's own 404/405/500, uncaught errors."""

    def __init__(self, get_response: Handler) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not is_api_path(request) or response.status_code < 400:
            return response
        if response.get("Content-Type", "").startswith(("application/problem+json", "application/json")):
            return response
        return self._replacement(response.status_code)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request):
            return None
        unavailable = unavailable_response(exception)
        if unavailable is not None:
            return unavailable
        logger.exception("Unhandled error on %s %s", request.method, route_pattern(request))
        response = problem_response(500, "server_error", "The server failed to answer; the error was logged.")
        # Logged above with its stack trace; keeps django.request from logging the same 500 again.
        response._has_been_logged = True  # type: ignore[attr-defined]
        return response

    @staticmethod
    def _replacement(status: int) -> HttpResponse:
        codes = {
            400: ("parse_error", "The request could not be read."),
            403: ("permission_denied", "You may not do this."),
            404: ("not_found", "No such resource."),
            405: ("method_not_allowed", "Method not allowed."),
            413: ("payload_too_large", "The request body is too large."),
        }
        fallback = (
            ("server_error", "The server failed to answer.") if status >= 500 else ("validation_error", "")
        )
        code, detail = codes.get(status, fallback)
        return problem_response(status, code, detail)
