"""Writes of the profile entity (`profile` in sync): preferences, onboarding, and the user's display name
and time zone, which live on the user row but are versioned with the profile.

Changed fields are recorded per key (`preferences.focus_size`, `onboarding.completed_steps`), so two
devices that change different preferences from the same base version merge instead of conflicting.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django.utils import timezone

from accounts.models import Profile, User, default_onboarding, default_preferences
from core.problems import validation_error
from core.versioning import BaseVersion
from sync.services import ChangeWriter, change_writer, check_base
from workspaces.models import Member

PREFERENCE_KEYS = ("focus_size", "focus_auto_generate", "focus_time", "reminder_email", "week_start")
ONBOARDING_STEPS = ("create_list", "add_item", "generate_focus", "log_anti_todo", "read_insights")
USER_FIELDS = ("display_name", "timezone")


def profile_create(writer: ChangeWriter) -> Profile:
    """The writer's user's profile, with the default preferences: the first change of a new user's feed."""
    profile = Profile(preferences=default_preferences(), onboarding=default_onboarding())
    writer.save(profile, created=True)
    return profile


def profile_for(user: User) -> Profile:
    """The user's profile; users made outside registration (createsuperuser, admin) get one now, through
    the write path, so it has a version and a change record like any other."""
    profile = Profile.objects.filter(user=user).first()
    if profile is not None:
        profile.user = user
        return profile
    with change_writer(user) as writer:
        profile = Profile.objects.filter(user=user).first() or profile_create(writer)
    profile.user = user
    return profile


def preferences_of(profile: Profile | None) -> dict[str, Any]:
    """Stored preferences over the defaults (a key added later has its default)."""
    stored = profile.preferences if profile is not None and isinstance(profile.preferences, dict) else {}
    return {**default_preferences(), **{k: v for k, v in stored.items() if k in PREFERENCE_KEYS}}


def onboarding_of(profile: Profile) -> dict[str, Any]:
    stored = profile.onboarding if isinstance(profile.onboarding, dict) else {}
    return {**default_onboarding(), **stored}


def _onboarding_changes(current: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    new = {**current, **sent}
    if "completed_steps" in sent:
        # A set kept in the fixed order of the steps, whatever order the client sent.
        new["completed_steps"] = [s for s in ONBOARDING_STEPS if s in set(sent["completed_steps"])]
    at = sent.get("completed_at")
    if at is not None and at > timezone.now():
        raise validation_error({"onboarding": {"completed_at": ["Cannot be in the future."]}})
    all_done = set(new["completed_steps"]) == set(ONBOARDING_STEPS)
    if "completed_at" not in sent and new["completed_at"] is None and all_done:
        new["completed_at"] = timezone.now()
    if isinstance(new.get("completed_at"), datetime):
        new["completed_at"] = new["completed_at"].astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {k: v for k, v in new.items() if current.get(k) != v}


def profile_update(*, user: User, base: BaseVersion, data: dict[str, Any]) -> tuple[Profile, bool]:
    """Applies `display_name`, `timezone`, and `preferences`/`onboarding` merged key by key; one version
    bump of the profile for all of them. Returns the profile and whether the write merged over a stale
    base version."""
    with change_writer(user, personal=False) as writer:
        # A rename changes the user's memberships too (`display_name` of the `member` sync type, read from
        # the account): their workspaces' spaces are locked with the personal space, in one go (id order).
        memberships = Member.objects.filter(user=user) if "display_name" in data else Member.objects.none()
        writer.lock(writer.personal_space_id, *memberships.values_list("space_id", flat=True))
        profile = Profile.objects.filter(user=user).first() or profile_create(writer)
        user.refresh_from_db(fields=list(USER_FIELDS))
        profile.user = user
        changes: dict[str, Any] = {
            f: data[f] for f in USER_FIELDS if f in data and getattr(user, f) != data[f]
        }
        preferences = preferences_of(profile)
        for key, value in (data.get("preferences") or {}).items():
            if preferences.get(key) != value:
                changes[f"preferences.{key}"] = value
        for key, value in _onboarding_changes(onboarding_of(profile), data.get("onboarding") or {}).items():
            changes[f"onboarding.{key}"] = value
        merged = check_base(profile, base, changes.keys())
        if changes:
            user_changes = [f for f in USER_FIELDS if f in changes]
            for field in user_changes:
                setattr(user, field, changes[field])
            if user_changes:
                user.save(update_fields=user_changes)
            profile.preferences = preferences | {
                k.split(".", 1)[1]: v for k, v in changes.items() if k.startswith("preferences.")
            }
            profile.onboarding = onboarding_of(profile) | {
                k.split(".", 1)[1]: v for k, v in changes.items() if k.startswith("onboarding.")
            }
            writer.save(profile, changes.keys())
            if "display_name" in changes:
                # Each membership gets a new version, so every member's replica converges on the new name.
                for member in memberships:
                    writer.save(member, ["display_name"])
    return profile, merged


def memberships_touch(*, user: User, fields: list[str]) -> None:
    """The user's account fields that the `member` sync type shows changed outside profile_update (a staff
    edit of the email): each membership gets a new version of them, so every member's replica converges."""
    with change_writer(user, personal=False) as writer:
        memberships = Member.objects.filter(user=user)
        writer.lock(*memberships.values_list("space_id", flat=True))
        for member in memberships:
            writer.save(member, fields)
