"""The system check that keeps WEBHOOKS_ALLOW_INSECURE out of production: with it on, webhooks may be sent
over plain http and to internal addresses (webhooks.guard), which only local development and tests may
allow."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register


def check_allow_insecure(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG or not getattr(settings, "WEBHOOKS_ALLOW_INSECURE", False):
        return []
    return [
        Error(
            "WEBHOOKS_ALLOW_INSECURE is on while DEBUG is off: webhooks could be sent over plain http and "
            "to internal addresses (the cloud's metadata service, the database), on any user's say.",
            hint="Unset WEBHOOKS_ALLOW_INSECURE; it is for local development and tests only.",
            id="webhooks.E001",
        )
    ]


def register_all() -> None:
    # With the deploy checks (`manage.py check --deploy`, which the deployment runs before it starts the
    # new release: docs/deployment.md), like Django's own security checks.
    register(check_allow_insecure, Tags.security, deploy=True)
