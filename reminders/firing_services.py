"""Firing due reminders: once each, within a minute of `fires_at`, however many workers run.

The periodic job (`fire_job`, every 15 seconds, registered with jobs.registry) fires a first batch itself
and, when more are due, enqueues `fire_due_task`s so every worker shares the rest. A batch is one
transaction:

1. It claims up to BATCH_SPACES personal spaces that hold due reminders (those of the earliest due first)
   with `SELECT ... FOR UPDATE SKIP LOCKED` on their counter rows: two workers never take the same space,
   and never wait for each other (PostgreSQL; SQLite runs one writer at a time anyway). Every write of a
   reminder holds its owner's space lock (sync.services), so a space this batch holds cannot see its
   reminders edited or fired by anyone else until the batch commits: that is what makes a reminder fire
   exactly once.
2. It reads those spaces' due reminders (locking their rows, which waits only for an item write that is
   moving their `fires_at` at that moment, and then sees the new time), then, in a statement of its own,
   their items' current state (what such a write left, done or moved).
3. A reminder whose item is open and still visible to its owner fires: a `notification` and the reminder's
   new version with `fired_at`, both through the spaces' change writers (so they sync and poke). One whose
   item is done, or out of its owner's sight, is skipped for that time (`skipped_at`, server state), and a
   relative one whose stored time disagrees with the item's current due date is corrected instead.
4. After commit: the `reminder_fired` signal for each, and one email task for the batch's owners who asked
   for reminder emails.
"""

from __future__ import annotations

import json
import logging
import os
import time as clock
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from accounts.models import Profile
from core.db.json_rows import insert_json_rows
from lists.models import Item
from reminders import schedule_services as schedule
from reminders.events import reminder_fired
from reminders.models import Notification, Reminder
from sync.fields import timestamp_text
from sync.models import Space
from sync.services import ChangeWriter, held_spaces
from workspaces.models import Member

logger = logging.getLogger(__name__)

# How many owners' spaces and reminders one batch takes (the environment may set the first: tests make
# batches small so that workers interleave).
BATCH_SPACES = int(os.environ.get("REMINDERS_BATCH_SPACES", "200"))
BATCH_REMINDERS = 2000
# How many of the earliest due reminders name the spaces a batch tries to claim (`_claim_spaces`): twice a
# batch, so a second worker finds free spaces past the first one's.
CANDIDATES = 2 * BATCH_REMINDERS
# Claims a batch makes when the spaces it claimed turn out to have been fired meanwhile.
CLAIM_ATTEMPTS = 3
# A task stops taking batches after this long, so one task never outlives the next run by much; what is
# left is the next task's.
TASK_BUDGET_SECONDS = 50
MAX_TASKS = 8


def pending(now: datetime) -> Any:
    """The armed reminders due by `now` (the `reminder_pending` index)."""
    return Reminder.objects.filter(
        fired_at__isnull=True, skipped_at__isnull=True, fires_at__isnull=False, fires_at__lte=now
    )


def _claim_spaces(now: datetime) -> list[int]:
    """Up to BATCH_SPACES spaces with due reminders that no other worker holds, locked.

    The candidates are the spaces of the earliest CANDIDATES due reminders, read through the
    `reminder_pending` index, which holds armed reminders only: its cost follows the batch, not the
    backlog. (Asking for "every space that has a due reminder" in space order walked past the spaces
    already fired in this burst, each of whose reminders the database read and rejected: a claim late in
    a burst of 100,000 took 60 ms, and it grew with the burst.) Should another worker hold every
    candidate, the spaces beyond them are asked for in full, so no due reminder waits for the next run."""
    earliest = list(pending(now).order_by("fires_at").values_list("space_id", flat=True)[:CANDIDATES])
    claimed = _lock_free(Space.objects.filter(pk__in=set(earliest)))
    if claimed or len(earliest) < CANDIDATES:  # what it found, or every due reminder was a candidate
        return claimed
    return _lock_free(Space.objects.filter(pk__in=pending(now).values("space_id")))


def _lock_free(spaces: Any) -> list[int]:
    spaces = spaces.order_by("pk")
    if connection.features.has_select_for_update_skip_locked:
        spaces = spaces.select_for_update(skip_locked=True)
    return list(spaces.values_list("pk", flat=True)[:BATCH_SPACES])


def fire_batch(now: datetime | None = None) -> int:
    """One batch (module docstring); returns how many reminders it settled (fired, skipped or corrected),
    0 when no unclaimed space has any due."""
    now = now or timezone.now()
    fired: list[tuple[Reminder, Notification]] = []
    emails: list[str] = []
    with held_spaces() as held:
        for _attempt in range(CLAIM_ATTEMPTS):
            space_ids = _claim_spaces(now)
            if not space_ids:
                return 0
            held.lock(space_ids)  # ours already: the writers take their numbers from these rows
            reminders = list(
                pending(now)
                .filter(space_id__in=space_ids)
                .order_by("fires_at")
                .select_for_update()[:BATCH_REMINDERS]
            )
            if reminders:
                break
            # The candidates were read while another worker held these spaces, and it fired their
            # reminders and let them go before this claim locked them: claim again (the candidates are
            # read anew), rather than answer 0, which would end this task while reminders are due.
        else:
            return 0
        # The items as they are now, read after the reminders' locks were granted: a workspace item's
        # write locks its members' reminders (the `fires_at` recompute) but not their spaces, and a
        # statement that waited for such a lock rechecks the reminder's row only, keeping the item's row
        # as the statement first read it (PostgreSQL's READ COMMITTED): an item made done by that write
        # would have fired as open.
        items: dict[UUID, tuple[Any, ...]] = {
            row[0]: row[1:]
            for row in Item.objects.filter(pk__in={r.item_id for r in reminders}).values_list(
                "pk", "status", "space_id", "title", "due_date", "due_time"
            )
        }
        owners = {reminder.user_id for reminder in reminders}
        users = {user.pk: user for user in get_user_model()._default_manager.filter(pk__in=owners)}
        wants_email = {
            user_id
            for user_id, preferences in Profile.objects.filter(user_id__in=owners).values_list(
                "user_id", "preferences"
            )
            if isinstance(preferences, dict) and preferences.get("reminder_email") is True
        }
        memberships = set(
            Member.objects.filter(
                user_id__in=owners,
                space_id__in={item[1] for item in items.values()},
            ).values_list("user_id", "space_id")
        )
        to_fire: dict[UUID, list[Reminder]] = {}
        skipped: list[UUID] = []
        corrected: list[Reminder] = []
        titles: dict[UUID, str] = {}
        for reminder in reminders:
            user = users[reminder.user_id]
            # An item deleted meanwhile took its reminders with it; were one left, it is out of sight.
            status, item_space, titles[reminder.pk], due_date, due_time = items.get(
                reminder.item_id, ("deleted", None, "", None, None)
            )
            if reminder.minutes_before is not None:
                current = schedule.fires_at(
                    remind_at=None,
                    minutes_before=reminder.minutes_before,
                    due_date=due_date,
                    due_time=due_time,
                    timezone_name=user.timezone,
                )
                if current != reminder.fires_at:
                    reminder.fires_at = current
                    corrected.append(reminder)
                    if current is None or current > now:
                        continue
            visible = item_space == reminder.space_id or ((reminder.user_id, item_space) in memberships)
            if status != "open" or not visible or not user.is_active:
                skipped.append(reminder.pk)
                continue
            to_fire.setdefault(reminder.user_id, []).append(reminder)
        if corrected:
            Reminder.objects.bulk_update(corrected, ["fires_at"])
        if skipped:
            Reminder.objects.filter(pk__in=skipped).update(skipped_at=now)
        notifications: list[Notification] = []
        fired_reminders: list[Reminder] = []
        for user_id, theirs in to_fire.items():
            writer = ChangeWriter(users[user_id], held)
            made = [
                Notification(
                    user_id=user_id,
                    space_id=r.space_id,
                    kind=Notification.Kind.REMINDER,
                    data=_data(r, titles[r.pk]),
                )
                for r in theirs
            ]
            for reminder in theirs:
                reminder.fired_at = now
            writer.stamp_many(made, created=True)
            writer.stamp_many(theirs, ["fired_at"])
            writer.flush()
            notifications.extend(made)
            fired_reminders.extend(theirs)
            fired.extend(zip(theirs, made, strict=True))
            if user_id in wants_email:
                emails.extend(str(notification.pk) for notification in made)
        _insert_notifications(notifications, now)
        _store_fired(fired_reminders, now)
        if fired or emails:
            transaction.on_commit(lambda: _after_commit(fired, emails), robust=True)
    return len(reminders)


def _data(reminder: Reminder, title: str) -> dict[str, Any]:
    return {
        "reminder": str(reminder.pk),
        "item": str(reminder.item_id),
        "title": title,
        "fires_at": timestamp_text(reminder.fires_at),
    }


def _insert_notifications(notifications: list[Notification], now: datetime) -> None:
    """The batch's notifications in one INSERT (PostgreSQL: the rows as one JSON parameter; the ORM's bulk
    insert spends more time building the statement than the database spends running it)."""
    for notification in notifications:
        notification.created_at = notification.updated_at = now
    if not notifications:
        return
    if connection.vendor != "postgresql":
        Notification.objects.bulk_create(notifications, batch_size=1000)
        return
    insert_json_rows(
        connection,
        Notification,
        ("id", "user", "space", "change_number", "kind", "data"),
        [[n.pk, n.user_id, n.space_id, n.change_number, str(n.kind), n.data] for n in notifications],
        constants={"version": 1, "created_at": now, "updated_at": now},
    )


def _store_fired(reminders: list[Reminder], now: datetime) -> None:
    """One UPDATE for the batch's fired reminders, each with the version and number it took."""
    if not reminders:
        return
    if connection.vendor == "postgresql":
        table = connection.ops.quote_name(Reminder._meta.db_table)
        rows = [[str(r.pk), r.version, r.change_number] for r in reminders]
        # Only our own table's name goes into the text; the rows are one JSON parameter.
        sql = (
            f"UPDATE {table} SET fired_at = %s, updated_at = %s, version = (r->>1)::integer, "  # noqa: S608
            f"change_number = (r->>2)::bigint FROM jsonb_array_elements(%s::jsonb) AS r "
            f"WHERE {table}.id = (r->>0)::uuid"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [now, now, json.dumps(rows)])
        return
    for reminder in reminders:
        Reminder.objects.filter(pk=reminder.pk).update(
            fired_at=now, updated_at=now, version=reminder.version, change_number=reminder.change_number
        )


def _after_commit(fired: list[tuple[Reminder, Notification]], emails: list[str]) -> None:
    for reminder, notification in fired:
        reminder_fired.send_robust(sender=Reminder, reminder=reminder, notification=notification)
    if emails:
        from reminders.tasks import send_reminder_emails

        send_reminder_emails.enqueue(emails)


def fire_due(now: datetime | None = None, *, budget_seconds: float = TASK_BUDGET_SECONDS) -> int:
    """Batches until nothing due is left unclaimed, or the budget is spent; returns how many settled."""
    started = clock.monotonic()
    total = 0
    while clock.monotonic() - started < budget_seconds:
        settled = fire_batch(now or timezone.now())
        if not settled:
            break
        total += settled
    return total


def fire_job(now: datetime) -> int:
    """The periodic job: fires a first batch, and when more are due shares them out as tasks, up to
    MAX_TASKS waiting at once: while a backlog outlasts a run (a worker that was down, a burst bigger than
    15 seconds' work), each run tops the queue up instead of adding MAX_TASKS more, which would leave a
    pile of idle tasks ahead of every other task (emails, morning cards) once the backlog is gone."""
    settled = fire_batch(now)
    if settled:
        left = pending(now).values("pk")[: BATCH_REMINDERS * MAX_TASKS].count()
        if left:
            from django_tasks_db.models import DBTaskResult

            from reminders.tasks import fire_due_task

            waiting = DBTaskResult.objects.filter(status="READY", task_path=fire_due_task.module_path).count()
            for _ in range(min(MAX_TASKS, -(-left // BATCH_REMINDERS)) - waiting):
                fire_due_task.enqueue()
    return settled


NOTIFICATION_RETENTION = timedelta(days=90)


def prune_job(now: datetime) -> int:
    """Notifications older than 90 days go, with their tombstones (reminders.services.notifications_prune)."""
    from reminders.services import notifications_prune

    total = 0
    while removed := notifications_prune(before=now - NOTIFICATION_RETENTION):
        total += removed
    return total
