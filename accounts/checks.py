"""Deploy checks of accounts (run by `manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, register

# Backends that write every message, password reset tokens included, where operators and log collectors
# read: standard output, or files on the server.
DEVELOPMENT_MAIL_BACKENDS = frozenset(
    {
        "django.core.mail.backends.console.EmailBackend",
        "django.core.mail.backends.filebased.EmailBackend",
    }
)


@register(Tags.security, deploy=True)
def check_mail_backend(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    if settings.DEBUG or settings.EMAIL_BACKEND not in DEVELOPMENT_MAIL_BACKENDS:
        return []
    return [
        Error(
            f"EMAIL_BACKEND is {settings.EMAIL_BACKEND} while DEBUG is off: password reset emails, with "
            "their tokens, would be written to the server's output instead of being sent.",
            hint="Set EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and the EMAIL_* variables.",
            id="accounts.E001",
        )
    ]
