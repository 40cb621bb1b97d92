"""When a reminder fires (`fires_at`), and keeping that current through every write path.

An absolute reminder fires at its `remind_at`. A relative one fires `minutes_before` minutes before the
instant its item is due: the item's `due_date` at its `due_time` on the wall clock of the reminder owner's
time zone. Each member who sets a reminder on a workspace item has their own time zone, so the same item
can be due at different instants for different members.

The design (docs/architecture.md, "Reminders"): `fires_at` is scheduling state that the server keeps, not a
field of the reminder's version. What it depends on changes in other spaces (the item's due date, in a
workspace's space, changed by any editor; the owner's time zone, in their profile), and a write may lock
only the spaces it names up front, in id order (sync.services): a workspace item's write cannot lock every
reminder owner's personal space from inside its change hook without risking deadlock. So the hook
(`recompute_from_changes`, a `sync.registry.on_changes` hook, which REST, push and import all reach)
rewrites `fires_at` of the affected reminders with a plain UPDATE in the same transaction: it takes no space
lock and bumps no version, so it can neither deadlock nor make a change clients must pull. Clients derive
`fires_at` the same way from what they hold (docs/api/reminders.md); sync leaves it out of a change's data,
as it does every derived value. The firing job recomputes it from the item's current state anyway before
it fires (reminders.firing_services), so a missed update could only delay a reminder to its right time,
never fire it at a wrong one.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from reminders.models import Reminder

# Item fields that move a relative reminder's time.
DUE_FIELDS = frozenset({"due_date", "due_time"})


def zone(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")  # names are validated on the way in; an old row keeps working


def due_instant(due_date: date | None, due_time: time | None, timezone_name: str | None) -> datetime | None:
    """The instant an item is due for someone in `timezone_name`, None without both a date and a time.

    A wall-clock time that happens twice (clocks go back) is its first occurrence; one that does not
    happen (clocks go forward) is read with the offset before the change, so it lands as far after the gap
    as it was into it: RFC 5545's rule for DTSTART, and what zoneinfo does with `fold=0`.
    """
    if due_date is None or due_time is None:
        return None
    local = datetime.combine(due_date, due_time.replace(tzinfo=None)).replace(tzinfo=zone(timezone_name))
    return local.astimezone(UTC)


def fires_at(
    *,
    remind_at: datetime | None,
    minutes_before: int | None,
    due_date: date | None,
    due_time: time | None,
    timezone_name: str | None,
) -> datetime | None:
    """When a reminder fires. The minutes before are real minutes before the due instant, so a reminder
    set 10 hours before 09:00 on the morning clocks change still comes 10 hours before."""
    if remind_at is not None:
        return remind_at
    due = due_instant(due_date, due_time, timezone_name)
    if due is None or minutes_before is None:
        return None
    return due - timedelta(minutes=minutes_before)


def _store(rows: Iterable[tuple[UUID, int, datetime | None, date | None, time | None, str]]) -> int:
    """Rewrites the `fires_at` that differ from what the rows compute; a reminder whose time moved is
    pending again for its new time (`skipped_at` cleared). Returns how many changed."""
    changed: list[Reminder] = []
    for pk, minutes_before, stored, due_date, due_time, timezone_name in rows:
        computed = fires_at(
            remind_at=None,
            minutes_before=minutes_before,
            due_date=due_date,
            due_time=due_time,
            timezone_name=timezone_name,
        )
        if computed != stored:
            changed.append(Reminder(pk=pk, fires_at=computed, skipped_at=None))
    if changed:
        Reminder.objects.bulk_update(changed, ["fires_at", "skipped_at"], batch_size=500)
    return len(changed)


_COLUMNS = ("pk", "minutes_before", "fires_at", "item__due_date", "item__due_time", "user__timezone")


def recompute_for_items(item_ids: Iterable[UUID]) -> int:
    """The relative reminders of these items, whoever set them, after their due date or time changed."""
    relative = Reminder.objects.filter(item_id__in=list(item_ids), minutes_before__isnull=False)
    return _store(relative.values_list(*_COLUMNS))


def recompute_for_users(user_ids: Iterable[Any]) -> int:
    """The relative reminders of these users, after their time zone changed."""
    relative = Reminder.objects.filter(user_id__in=list(user_ids), minutes_before__isnull=False)
    return _store(relative.values_list(*_COLUMNS))


def recompute_from_changes(records: list[Any], entities: dict[tuple[str, UUID], Any]) -> None:
    """The change hook's part for `fires_at`: items whose due date or time changed, profiles whose time
    zone changed. Costs nothing (no query) for every other write."""
    # A created item (version 1) has no reminders yet: one made later in the same write computes its own.
    items = {
        record.entity_id
        for record in records
        if record.entity_type == "item"
        and record.version > 1
        and not record.deleted
        and DUE_FIELDS.intersection(record.fields)
    }
    profiles = [
        record.entity_id
        for record in records
        if record.entity_type == "profile" and not record.deleted and "timezone" in record.fields
    ]
    if items:
        recompute_for_items(items)
    if profiles:
        users = set()
        for profile_id in profiles:
            profile = entities.get(("profile", profile_id))
            if profile is not None:
                users.add(profile.user_id)
            else:
                from accounts.models import Profile

                users.update(Profile.objects.filter(pk=profile_id).values_list("user_id", flat=True))
        recompute_for_users(users)
