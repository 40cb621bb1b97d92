"""Users: registration, and what staff do to a user in the admin (create, change, deactivate, activate)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from django.db import IntegrityError, transaction

from accounts.audit import audit_record, audit_user_action
from accounts.models import AuditEvent, User
from accounts.profile_services import (
    USER_FIELDS,
    memberships_touch,
    profile_create,
    profile_for,
    profile_update,
)
from accounts.services.sessions import sessions_revoke_all
from accounts.user_cache import user_changed
from accounts.validators import EMAIL_TAKEN
from core.problems import validation_error
from core.versioning import ANY_VERSION
from sync.services import change_writer
from workspaces.services import invitations_attach

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
                profile_create(writer)
            # Invitations sent to this address before the account existed become the account's.
            invitations_attach(user=user)
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
        user_changed(user.pk)
        count = sessions_revoke_all(user=user)
        audit_user_action(event=Event.USER_DEACTIVATED, by=by_staff, target=user, sessions=count)


def user_activate(*, user: User, by_staff: User) -> None:
    """Staff let a deactivated user log in again (their revoked sessions stay revoked)."""
    with transaction.atomic():
        User.objects.filter(pk=user.pk).update(is_active=True)
        user.is_active = True
        user_changed(user.pk)
        audit_user_action(event=Event.USER_ACTIVATED, by=by_staff, target=user)


def user_create_by_staff(*, user: User, by_staff: User) -> User:
    """A user made in the admin (the form built `user`, unsaved): saved with its profile, the first change
    of its feed, as registration does, and audited."""
    with transaction.atomic():
        user.save()
        profile_for(user)
        invitations_attach(user=user)
        audit_user_action(event=Event.USER_CREATED, by=by_staff, target=user)
    return user


def user_change(
    *, user: User, by_staff: User, data: dict[str, Any], other_fields: Collection[str] = ()
) -> User:
    """A staff edit of the user row in the admin, made as the API makes it: `display_name` and `timezone`
    through profile_update (the profile's version moves and clients pull the change), `is_active` through
    user_deactivate or user_activate (a deactivation revokes every session), the other fields saved as
    they are. One audit event names every changed field, with `other_fields` (groups and permissions, which
    the admin saves after the row). Returns the user as stored."""
    with transaction.atomic():
        # Not locked: profile_update takes the user's sync lock before it writes the row, as the API does.
        current = User.objects.get(pk=user.pk)
        changed = {key: value for key, value in data.items() if getattr(current, key) != value}
        profile_changes = {key: value for key, value in changed.items() if key in USER_FIELDS}
        if profile_changes:
            profile_update(user=current, base=ANY_VERSION, data=profile_changes)
        if "is_active" in changed:
            toggle = user_activate if changed["is_active"] else user_deactivate
            toggle(user=current, by_staff=by_staff)
        row_changes = [key for key in changed if key not in USER_FIELDS and key != "is_active"]
        if row_changes:
            for key in row_changes:
                setattr(current, key, changed[key])
            current.save(update_fields=row_changes)
            if "email" in row_changes:
                memberships_touch(user=current, fields=["email"])
        fields = sorted({*changed, *other_fields})
        if fields:
            audit_user_action(event=Event.USER_CHANGED, by=by_staff, target=current, fields=fields)
    return current
