"""The background tasks of reminders (django-tasks; the worker runs them)."""

from __future__ import annotations

import logging

from django.core.mail import send_mail
from django_tasks import task

from reminders.models import Notification

logger = logging.getLogger(__name__)


@task()
def fire_due_task() -> int:
    """A share of the due reminders, batch by batch (reminders.firing_services)."""
    from reminders.firing_services import fire_due

    return fire_due()


@task()
def send_reminder_emails(notification_ids: list[str]) -> int:
    """One email per fired reminder whose owner asked for them (`preferences.reminder_email`). Sent after the
    firing committed; a failure is logged and the notification stands."""
    sent = 0
    for notification in Notification.objects.filter(pk__in=notification_ids).select_related("user"):
        user = notification.user
        title = str(notification.data.get("title") or "")
        body = (
            f"Reminder: {title}\n\n"
            "You asked Daymark to remind you of this item. You can turn reminder emails off in your "
            "profile's preferences."
        )
        try:
            send_mail(f"Reminder: {title[:150]}", body, None, [user.email])
            sent += 1
        except Exception as error:
            logger.error("Could not send a reminder email: %s", type(error).__name__)
    return sent
