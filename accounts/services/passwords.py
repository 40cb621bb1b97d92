"""Password changes: by the user on the API, by staff in the admin, by an operator with
`manage.py changepassword`. Each revokes the sessions that outlived the old password."""

from __future__ import annotations

from django.contrib.auth.password_validation import validate_password
from django.db import transaction

from accounts.audit import audit_record
from accounts.models import AuditEvent, User
from accounts.services.sessions import sessions_revoke_all

Event = AuditEvent.Event


def password_change(*, user: User, new_password: str, keep_jti: str | None = None) -> None:
    validate_password(new_password, user=user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        sessions_revoke_all(user=user, keep_jti=keep_jti)
        audit_record(event=Event.PASSWORD_CHANGED, user=user)


def password_set(*, user: User, password: str | None, by: User | None, via: str) -> int:
    """A password set outside the API's own endpoints: by staff in the admin (for a user or for themselves)
    or by an operator with `manage.py changepassword`. `None` makes it unusable (password login disabled).
    The caller has validated it. Every session of the user is revoked, as on the API: refresh issues tokens
    for the user as they are now, so nothing else would end a session that outlived its password. Returns
    how many sessions were revoked."""
    with transaction.atomic():
        if password is None:
            user.set_unusable_password()
        else:
            user.set_password(password)
        user.save(update_fields=["password"])
        count = sessions_revoke_all(user=user)
        audit_record(
            event=Event.PASSWORD_CHANGED,
            user=by or user,
            target_type="user",
            target_id=str(user.pk),
            metadata={
                "sessions": count,
                "via": via,
                "usable": password is not None,
                "target_email": user.email,
            },
        )
    return count
