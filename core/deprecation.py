"""Marking an endpoint deprecated (docs/api/limits.md): `Deprecation` (RFC 9745), `Sunset` (RFC 8594) and
`Link: <...>; rel="deprecation"` on every answer of it, and `deprecated: true` in the OpenAPI schema.

    @deprecated(since=datetime(2026, 1, 1, tzinfo=UTC), sunset=date(2026, 7, 1), link="https://...")
    class OldThingView(APIView): ...

Works on DRF view classes (also for their error answers) and on plain function views.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Any, TypeVar

from django.http import HttpResponseBase
from django.utils.http import http_date

T = TypeVar("T")


def _as_datetime(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError("Deprecation and sunset times must be timezone-aware.")
        return value
    return datetime.combine(value, time.min, tzinfo=UTC)


def deprecation_headers(
    *, since: date | datetime, sunset: date | datetime | None = None, link: str | None = None
) -> dict[str, str]:
    headers = {"Deprecation": f"@{int(_as_datetime(since).timestamp())}"}
    if sunset is not None:
        headers["Sunset"] = http_date(_as_datetime(sunset).timestamp())
    if link:
        headers["Link"] = f'<{link}>; rel="deprecation"; type="text/html"'
    return headers


def _add_headers(response: HttpResponseBase, headers: dict[str, str]) -> None:
    for name, value in headers.items():
        if name == "Link" and response.has_header("Link"):
            response["Link"] = f"{response['Link']}, {value}"
        else:
            response[name] = value


def deprecated(
    *, since: date | datetime, sunset: date | datetime | None = None, link: str | None = None
) -> Callable[[T], T]:
    """Marks a view deprecated since `since`, to be removed at `sunset`, with migration notes at `link`."""
    headers = deprecation_headers(since=since, sunset=sunset, link=link)

    def decorate(view: Any) -> Any:
        if isinstance(view, type):
            view_class: Any = view
            finalize = view_class.finalize_response

            @functools.wraps(finalize)
            def finalize_response(self: Any, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
                response = finalize(self, request, response, *args, **kwargs)
                _add_headers(response, headers)
                return response

            view_class.finalize_response = finalize_response
            from drf_spectacular.utils import extend_schema

            return extend_schema(deprecated=True)(view)

        @functools.wraps(view)
        def wrapper(request: Any, *args: Any, **kwargs: Any) -> Any:
            response = view(request, *args, **kwargs)
            _add_headers(response, headers)
            return response

        return wrapper

    return decorate
