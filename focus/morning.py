"""Morning focus cards: a user with `preferences.focus_auto_generate` on has today's generated card from their
local `focus_time` on (within the minute), once per local day, whatever the time zone does.

- Each such user has a MorningCardSchedule row with the instant of their next focus time. The profile's
  writes keep it (a sync.registry.on_changes hook, in the write's transaction): turning the preference on
  or off, changing `focus_time` or the time zone. After any of them, a user whose focus time has already
  passed today and who has no card for today is due at once; otherwise at the next focus time.
- The `focus.morning_cards` job (every minute) leases the due rows in batches and enqueues a task per batch,
  so the cards are made by every worker's task loop at once. A leased row whose task never ran (its worker
  died) is due again when the lease ends.
- Local times that a daylight-saving change skips are taken at the first instant after the gap (02:30 on a
  spring-forward day at 03:00); times it repeats, at their first occurrence. Cards are unique per user and
  date, and the generation returns the existing card, so a second run for one day never makes a second card.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django_tasks import task

from accounts.models import Profile, User
from accounts.profile_services import preferences_of
from core.dates import user_zone
from focus.models import FocusCard, MorningCardSchedule
from focus.services import focus_card_generate

logger = logging.getLogger("daymark.focus")

# Fields of the profile change record that move the schedule.
SCHEDULE_FIELDS = frozenset(
    {"timezone", "preferences", "preferences.focus_time", "preferences.focus_auto_generate"}
)
# How many due users one job run leases (the rest wait for the next minute).
PER_RUN = 20_000
# A leased row whose task has not run by then is due again.
LEASE = timedelta(minutes=10)
# A user whose card failed is tried again this much later.
RETRY = timedelta(minutes=1)
# A run this late for its day still makes that day's card (a worker down over a user's midnight).
GRACE = timedelta(hours=6)


# --- time ------------------------------------------------------------------------------------------------
def focus_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant `day` reaches wall time `at` in `zone` (UTC). A time the clocks skip gives the first
    instant after the gap; a time they repeat gives its first occurrence."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=zone, fold=0)
    if first.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == wall:
        return first.astimezone(UTC)
    # In a gap: fold=1 reads it with the offset after the change (an earlier instant), fold=0 with the one
    # before (a later instant). The end of the gap, the first instant whose wall time is past `wall`, lies
    # between them.
    low = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    high = int(first.timestamp())
    while low < high:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).replace(tzinfo=None) >= wall:
            high = middle
        else:
            low = middle + 1
    return datetime.fromtimestamp(low, UTC)


def parse_focus_time(raw: Any) -> time:
    try:
        return time.fromisoformat(str(raw))
    except ValueError:
        return time(7, 0)


def next_due(*, zone: ZoneInfo, at: time, now: datetime, has_card: bool) -> datetime:
    """When a user's next morning card is due: today's focus time when it is still ahead, or when it has
    passed and today has no card (then it is due at once); else tomorrow's."""
    today = now.astimezone(zone).date()
    instant = focus_instant(today, at, zone)
    if instant > now or not has_card:
        return instant
    return focus_instant(today + timedelta(days=1), at, zone)


# --- keeping the schedule -----------------------------------------------------------------------------
def schedule_refresh(user_id: Any, profile: Profile | None = None, *, now: datetime | None = None) -> None:
    """Sets or removes the user's row from their profile as it is now (inside the caller's transaction)."""
    now = now or timezone.now()
    user = User.objects.filter(pk=user_id).only("timezone", "is_active").first()
    if profile is None:
        profile = Profile.objects.filter(user_id=user_id).first()
    preferences = preferences_of(profile)
    if user is None or not user.is_active or not preferences["focus_auto_generate"]:
        MorningCardSchedule.objects.filter(user_id=user_id).delete()
        return
    zone = user_zone(user)
    today = now.astimezone(zone).date()
    has_card = FocusCard.objects.filter(user_id=user_id, date=today).exists()
    due = next_due(zone=zone, at=parse_focus_time(preferences["focus_time"]), now=now, has_card=has_card)
    MorningCardSchedule.objects.update_or_create(user_id=user_id, defaults={"next_at": due})


def on_profile_changes(records: list[Any], entities: dict[Any, Any], spaces: dict[int, Any]) -> None:
    """sync.registry.on_changes: a profile write that touched what the schedule depends on (or created the
    profile: an import can create it with the preference on) refreshes the row, in the same transaction."""
    for record in records:
        if record.entity_type != "profile" or record.deleted:
            continue
        fields = set(record.fields or ())
        if fields and not fields & SCHEDULE_FIELDS and not any(f.startswith("preferences.") for f in fields):
            continue
        profile = entities.get(("profile", record.entity_id))
        if profile is not None:
            schedule_refresh(profile.user_id, profile)


# --- the job and its task ------------------------------------------------------------------------------
def lease_due(now: datetime) -> int:
    """The `focus.morning_cards` job: leases the due rows and enqueues their cards, MORNING_CARDS_BATCH users
    a task."""
    leased = 0
    while leased < PER_RUN:
        due = list(
            MorningCardSchedule.objects.filter(next_at__lte=now)
            .order_by("next_at")
            .values_list("user_id", "next_at")[: settings.MORNING_CARDS_BATCH]
        )
        if not due:
            break
        lease = now + LEASE
        MorningCardSchedule.objects.filter(user_id__in=[u for u, _ in due], next_at__lte=now).update(
            next_at=lease
        )
        make_morning_cards.enqueue(lease.isoformat(), [[str(u), at.isoformat()] for u, at in due])
        leased += len(due)
    return leased


@task()
def make_morning_cards(lease: str, users: list[list[Any]]) -> int:
    """Makes the due cards of a batch of users; returns how many cards it created."""
    leased_until = _parse(lease)
    created = 0
    for user_id, due in users:
        try:
            created += _make_one(str(user_id), _parse(due), leased_until)
        except Exception:
            # One user's failure leaves the others alone; the row is due again in RETRY.
            logger.exception("morning card of user %s failed", user_id)
            MorningCardSchedule.objects.filter(user_id=user_id).update(next_at=timezone.now() + RETRY)
    return created


def _parse(raw: str) -> datetime:
    moment = parse_datetime(raw)
    if moment is None:
        raise ValueError(f"not a datetime: {raw!r}")
    return moment


def _make_one(user_id: str, due: datetime, leased_until: datetime) -> int:
    now = timezone.now()
    user = User.objects.filter(pk=user_id).first()
    profile = Profile.objects.filter(user_id=user_id).first()
    preferences = preferences_of(profile)
    if user is None or not user.is_active or not preferences["focus_auto_generate"]:
        MorningCardSchedule.objects.filter(user_id=user_id, next_at=leased_until).delete()
        return 0
    zone, at = user_zone(user), parse_focus_time(preferences["focus_time"])
    days = _days_due(zone=zone, at=at, due=due, now=now)
    following = next_due(zone=zone, at=at, now=now, has_card=True)
    # Taking the row back from the lease is the claim: a profile change meanwhile (which set its own time)
    # or another run of this user wins, and this one does nothing.
    if not MorningCardSchedule.objects.filter(user_id=user_id, next_at=leased_until).update(
        next_at=following
    ):
        return 0
    size = int(preferences["focus_size"])
    return sum(focus_card_generate(user=user, day=day, size=size)[1] for day in days)


def _days_due(*, zone: ZoneInfo, at: time, due: datetime, now: datetime) -> list[date]:
    """The local days whose card is due now: the day the row was due for (unless that is long past), and
    today once today's focus time has passed."""
    days = []
    due_day = due.astimezone(zone).date()
    if focus_instant(due_day, at, zone) <= now and now - due <= GRACE:
        days.append(due_day)
    today = now.astimezone(zone).date()
    if today not in days and focus_instant(today, at, zone) <= now:
        days.append(today)
    return days
