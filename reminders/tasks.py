"""The background tasks of reminders (django-tasks; the worker runs them)."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.mail import send_mail
from django.db.models import F
from django.utils import timezone
from django_tasks import task

from reminders.models import Notification, ReminderEmail

logger = logging.getLogger(__name__)

# A reminder's email is tried this many times at most; attempt n + 1 waits RETRY_SECONDS * 4 ** (n - 1)
# after attempt n failed (30 s, 2 min, 8 min), so a mail server down for a few minutes loses nothing and
# one that stays down is not hammered.
REMINDER_EMAIL_ATTEMPTS = 4
RETRY_SECONDS = 30


def retry_delay(attempt: int) -> timedelta:
    """How long after failed attempt `attempt` (1, 2, ...) the next one runs."""
    return timedelta(seconds=RETRY_SECONDS * 4 ** (attempt - 1))


@task()
def fire_due_task() -> int:
    """A share of the due reminders, batch by batch (reminders.firing_services)."""
    from reminders.firing_services import fire_due

    return fire_due()


@task()
def send_reminder_emails(notification_ids: list[str], attempt: int = 1) -> int:
    """One email per fired reminder whose owner asked for them (`preferences.reminder_email`), enqueued
    after the firing committed. Each email is claimed before it is sent (ReminderEmail: `pending` to
    `sending`), so a task that runs twice, or a retry racing a late first attempt, never sends one twice.
    The ones that failed go back to `pending` and a later task tries them again (`retry_delay`), until
    REMINDER_EMAIL_ATTEMPTS; then they are `failed` and logged. The notification stands either way.
    Returns how many it sent."""
    ReminderEmail.objects.bulk_create(
        [ReminderEmail(notification_id=pk) for pk in notification_ids], ignore_conflicts=True
    )
    sent = 0
    again: list[str] = []
    for notification in Notification.objects.filter(pk__in=notification_ids).select_related("user"):
        claimed = ReminderEmail.objects.filter(
            notification_id=notification.pk, state=ReminderEmail.State.PENDING
        ).update(state=ReminderEmail.State.SENDING, attempts=F("attempts") + 1, updated_at=timezone.now())
        if not claimed:
            continue  # sent, being sent, or given up on: not this task's
        try:
            _send(notification)
        except Exception as error:
            tries = ReminderEmail.objects.values_list("attempts", flat=True).get(pk=notification.pk)
            last = tries >= REMINDER_EMAIL_ATTEMPTS
            ReminderEmail.objects.filter(pk=notification.pk).update(
                state=ReminderEmail.State.FAILED if last else ReminderEmail.State.PENDING,
                last_error=type(error).__name__[:200],  # not its text: it may name the address
                updated_at=timezone.now(),
            )
            if last:
                logger.error("Gave up on a reminder email after %s attempts: %s", tries, type(error).__name__)
            else:
                logger.warning("A reminder email failed (attempt %s): %s", tries, type(error).__name__)
                again.append(str(notification.pk))
            continue
        ReminderEmail.objects.filter(pk=notification.pk).update(
            state=ReminderEmail.State.SENT, updated_at=timezone.now()
        )
        sent += 1
    if again:
        send_reminder_emails.using(run_after=timezone.now() + retry_delay(attempt)).enqueue(
            again, attempt + 1
        )
    return sent


def _send(notification: Notification) -> None:
    title = str(notification.data.get("title") or "")
    body = (
        f"Reminder: {title}\n\n"
        "You asked Daymark to remind you of this item. You can turn reminder emails off in your "
        "profile's preferences."
    )
    send_mail(f"Reminder: {title[:150]}", body, None, [notification.user.email])
