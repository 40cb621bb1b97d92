"""System checks of settings that would otherwise fail on every request rather than at startup."""

from __future__ import annotations

import ipaddress
from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error

from core.ratelimit import UNIX_SOCKET_PEER, parse_rate


def rate_limit_settings(**_: Any) -> list[CheckMessage]:
    """Every `RATE_LIMIT_*` rate parses, the counts are positive, and TRUSTED_PROXIES holds only CIDRs or
    `unix`: a bad value would make every request that counts answer 500."""
    errors: list[CheckMessage] = []
    for name in dir(settings):
        value = getattr(settings, name, None)
        if name.startswith("RATE_LIMIT_") and isinstance(value, str):
            try:
                parse_rate(value)
            except ValueError as error:
                errors.append(Error(str(error), hint="A count and a period: 600/m, 5/h, 10/30s.", obj=name))
    for name in ("RATE_LIMIT_ADMIN_KEY_MULTIPLIER", "RATE_LIMIT_LOGIN_KNOWN_ADDRESS_DAYS"):
        if getattr(settings, name, 1) < 1:
            errors.append(Error(f"{name} must be at least 1.", obj=name))
    for entry in settings.TRUSTED_PROXIES:
        if entry.strip() in ("", UNIX_SOCKET_PEER):
            continue
        try:
            ipaddress.ip_network(entry.strip(), strict=False)
        except ValueError:
            errors.append(
                Error(
                    f"Not a network: {entry!r}.",
                    hint="CIDRs such as 127.0.0.1/32, or unix.",
                    obj="TRUSTED_PROXIES",
                )
            )
    return errors
