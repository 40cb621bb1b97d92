"""Deploy checks of accounts (run by `manage.py check --deploy`)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Error, Tags, Warning, register

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


def _origin_host(origin: str) -> str | None:
    """The host of a web origin (`https://app.example.com:8443`); None for an app origin (Android)."""
    if origin.startswith("android:apk-key-hash:"):
        return None
    return urlsplit(origin).hostname or ""


@register(Tags.security)
def check_passkey_origins(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """A web origin outside the relying party's domain can never finish a ceremony (browsers refuse to
    use a relying party id that is not the origin's domain or a parent of it): a configuration mistake
    that would only show as failed logins."""
    rp_id = settings.PASSKEYS_RP_ID.lower()
    outside = [
        origin
        for origin in settings.PASSKEYS_ORIGINS
        for host in [_origin_host(origin)]
        if host is not None and host != rp_id and not host.endswith("." + rp_id)
    ]
    if not outside:
        return []
    return [
        Error(
            f"PASSKEYS_ORIGINS {outside} are not on PASSKEYS_RP_ID {rp_id!r} or a subdomain of it.",
            hint="Set PASSKEYS_RP_ID to the registrable domain of the web app (docs/deployment.md).",
            id="accounts.E002",
        )
    ]


@register(Tags.security, deploy=True)
def check_passkey_relying_party(app_configs: Any, **kwargs: Any) -> list[CheckMessage]:
    """With DEBUG off, passkeys are bound to the real domain and used over HTTPS only."""
    if settings.DEBUG:
        return []
    messages: list[CheckMessage] = []
    if settings.PASSKEYS_RP_ID in ("localhost", "127.0.0.1", "[::1]"):
        messages.append(
            Warning(
                "PASSKEYS_RP_ID is localhost while DEBUG is off: passkeys cannot be registered or used "
                "from the real site.",
                hint="Set PASSKEYS_RP_ID and PASSKEYS_ORIGINS (docs/deployment.md).",
                id="accounts.W002",
            )
        )
    insecure = [
        origin
        for origin in settings.PASSKEYS_ORIGINS
        if not origin.startswith(("https://", "android:apk-key-hash:"))
    ]
    if insecure:
        messages.append(
            Warning(
                f"PASSKEYS_ORIGINS {insecure} are not https while DEBUG is off.",
                hint="List the web app's https:// origins (and android:apk-key-hash:... for Android).",
                id="accounts.W003",
            )
        )
    return messages
