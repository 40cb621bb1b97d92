"""Password reset by a mailed one-time token."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from accounts.audit import audit_record, audit_user_action
from accounts.models import AuditEvent, User
from accounts.services.sessions import sessions_revoke_all

logger = logging.getLogger("daymark.accounts")

Event = AuditEvent.Event


def _reset_token_for(user: User) -> str:
    """`<user id, base64>.<Django's reset token>`: one-time (it signs the password hash and last login),
    expiring after PASSWORD_RESET_TIMEOUT seconds."""
    return f"{urlsafe_base64_encode(force_bytes(user.pk))}.{default_token_generator.make_token(user)}"


def password_reset_request(*, email: str, by_staff: User | None = None) -> None:
    """Mails a reset token when an active account has this email; otherwise does the same work and sends
    nothing. The caller answers the same either way. `by_staff`: sent from the back office on the user's
    behalf, audited with the staff member who sent it."""
    email = User.objects.normalize_email(email)
    user = User.objects.filter(email=email, is_active=True).first()
    token = _reset_token_for(user or User(email=email))
    if by_staff is not None and user is not None:
        audit_user_action(event=Event.PASSWORD_RESET_REQUESTED, by=by_staff, target=user, by_staff=True)
    else:
        audit_record(event=Event.PASSWORD_RESET_REQUESTED, user=user, email=email)
    if user is None:
        return
    link = settings.PASSWORD_RESET_URL.format(token=token) if settings.PASSWORD_RESET_URL else ""
    body = (
        "Someone asked to reset the password of your Daymark account.\n\n"
        + (f"Choose a new password here: {link}\n\n" if link else "")
        + f"Your reset token: {token}\n\n"
        + f"It works once and expires in {settings.PASSWORD_RESET_TIMEOUT // 60} minutes. "
        + "If you did not ask for this, ignore this email."
    )
    try:
        send_mail("Reset your Daymark password", body, None, [user.email])
    except Exception as error:  # the answer must not reveal that the account exists by failing
        # The error's kind only: its message or trace may quote the body, and so the token.
        logger.error("Could not send the password reset email: %s", type(error).__name__)


def password_reset_user(*, token: str) -> User | None:
    """The active user a reset token was made for, if the token is still valid."""
    uid, _, signature = token.partition(".")
    try:
        user = User.objects.get(pk=force_str(urlsafe_base64_decode(uid)), is_active=True)
    except (ValueError, TypeError, OverflowError, DjangoValidationError, User.DoesNotExist):
        return None
    return user if default_token_generator.check_token(user, signature) else None


def password_reset_complete(*, user: User, new_password: str) -> None:
    """Sets the password (which invalidates the token) and revokes every session of the user."""
    validate_password(new_password, user=user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        count = sessions_revoke_all(user=user)
        audit_record(event=Event.PASSWORD_RESET_COMPLETED, user=user, metadata={"sessions_revoked": count})
