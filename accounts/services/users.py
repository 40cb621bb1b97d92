"""Users: registration, and deactivation by staff."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.audit import audit_record
from accounts.models import AuditEvent, Profile, User
from accounts.services.sessions import sessions_revoke_all
from accounts.validators import EMAIL_TAKEN
from core.problems import validation_error
from sync.services import change_writer

Event = AuditEvent.Event


def user_register(*, email: str, password: str, display_name: str = "", timezone: str = "UTC") -> User:
    """Creates the user with its sync counter and its profile (the first change of its feed).

    Of concurrent registrations of one email, the database's unique constraint lets one through; the
    others get the same 400 as a registration of a taken email."""
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                email=email, password=password, display_name=display_name, timezone=timezone
            )
            with change_writer(user) as writer:
                writer.save(
                    Profile(), ["display_name", "timezone", "preferences", "onboarding"], created=True
                )
            audit_record(event=Event.REGISTRATION, user=user, target_type="user", target_id=str(user.pk))
    except IntegrityError:
        if User.objects.filter(email=User.objects.normalize_email(email)).exists():
            raise validation_error({"email": [EMAIL_TAKEN]}) from None
        raise
    return user


def user_deactivate(*, user: User, by_staff: User | None = None) -> None:
    """The user can no longer log in, refresh, or use a key; every session is revoked."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=False)
        user.is_active = False
        count = sessions_revoke_all(user=user)
        audit_record(
            event=Event.USER_DEACTIVATED,
            user=by_staff,
            target_type="user",
            target_id=str(user.pk),
            metadata={"sessions": count, "target_email": user.email},
        )
