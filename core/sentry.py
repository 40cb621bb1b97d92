"""Optional error reports to Sentry (SENTRY_DSN). Without a DSN nothing is imported or sent."""

from __future__ import annotations

import re
from typing import Any

# A calendar feed's URL is its credential (docs/api/calendar-feeds.md): never in an error report.
_FEED_PATH = re.compile(r"/calendar/[^/?#]*\.ics")


def scrub_event(event: dict[str, Any], hint: Any = None) -> dict[str, Any]:
    """Sentry's `before_send`: the secret part of a calendar feed's URL is replaced."""
    request = event.get("request")
    if isinstance(request, dict) and isinstance(request.get("url"), str):
        request["url"] = _FEED_PATH.sub("/calendar/[redacted].ics", request["url"])
    return event


def init_sentry(*, dsn: str, environment: str, release: str | None, traces_sample_rate: float) -> None:
    import sentry_sdk
    from sentry_sdk.integrations.django import DjangoIntegration
    from sentry_sdk.integrations.logging import ignore_logger

    sentry_sdk.init(
        dsn=dsn,
        environment=environment,
        release=release,
        traces_sample_rate=traces_sample_rate,
        integrations=[DjangoIntegration()],
        # No user emails, IPs, cookies or headers; never request bodies (passwords travel in them).
        send_default_pii=False,
        max_request_body_size="never",
        include_local_variables=False,
        before_send=scrub_event,  # type: ignore[arg-type]
    )
    # Unhandled errors arrive as the error line of core.middleware (with the trace); the access line of the
    # same 500 would be a second event.
    ignore_logger("daymark.access")
