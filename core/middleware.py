"""Request plumbing that must hold for every request, including those DRF never sees."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.context import request_id_var, user_id_var
from core.problems import PayloadTooLarge, is_api_path, problem_response

logger = logging.getLogger("daymark.request")

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


class BodySizeLimitMiddleware:
    """Refuses bodies over MAX_REQUEST_BODY_BYTES with 413 before anything reads them.

    DRF reads the request stream directly, so Django's DATA_UPLOAD_MAX_MEMORY_SIZE check alone would not
    catch an oversized JSON body; this is the one place the limit holds for every endpoint.
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
            body = request.read(limit + 1)
            too_large = len(body) > limit
            request._body = body
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
        logger.exception("Unhandled error on %s %s", request.method, request.path)
        return problem_response(500, "server_error", "The server failed to answer; the error was logged.")

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
