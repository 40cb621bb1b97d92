"""Reminder emails: retried with backoff as tasks when sending fails, never sent twice for one firing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django_tasks_db.models import DBTaskResult

from accounts.models import Profile, User
from jobs.tasks import run_queued_tasks
from reminders.firing_services import fire_batch
from reminders.models import Notification, ReminderEmail
from reminders.tasks import REMINDER_EMAIL_ATTEMPTS, retry_delay, send_reminder_emails
from tests.factories import ItemFactory, ListFactory, ReminderFactory

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
FLAKY = "tests.reminders.test_emails.FlakyBackend"


class FlakyBackend(BaseEmailBackend):
    """Fails the next `failures` sends (a mail server that is down), then delivers to `mail.outbox`."""

    failures = 0
    attempts = 0

    def send_messages(self, email_messages: Any) -> int:
        FlakyBackend.attempts += 1
        if FlakyBackend.failures > 0:
            FlakyBackend.failures -= 1
            raise ConnectionRefusedError("the mail server is down")
        return int(LocmemBackend().send_messages(email_messages))


@pytest.fixture
def flaky(settings: Any) -> type[FlakyBackend]:
    settings.EMAIL_BACKEND = FLAKY
    FlakyBackend.failures = 0
    FlakyBackend.attempts = 0
    return FlakyBackend


def _fired(user: User, count: int = 1) -> list[str]:
    """`count` reminders of the user fired at NOON; their notifications' ids."""
    Profile.objects.filter(user=user).update(preferences={"reminder_email": True})
    item = ItemFactory.create(
        list=ListFactory.create(user=user), due_date=date(2026, 7, 1), due_time=time(12)
    )
    for _ in range(count):
        ReminderFactory.create(item=item, user=user, remind_at=NOON)
    with time_machine.travel(NOON, tick=False):
        fire_batch(NOON)
    return [str(pk) for pk in Notification.objects.filter(user=user).values_list("pk", flat=True)]


def _queued() -> list[DBTaskResult]:
    return list(DBTaskResult.objects.filter(status="READY").order_by("enqueued_at"))


def test_a_failed_send_is_retried_later_and_sent_once(user: User, flaky: type[FlakyBackend]) -> None:
    [notification] = _fired(user)
    flaky.failures = 2
    with time_machine.travel(NOON, tick=False):
        assert send_reminder_emails.call([notification]) == 0
        # The retry waits: nothing is ready to run yet.
        assert run_queued_tasks() == 0
    [retry] = _queued()
    assert retry.run_after == NOON + retry_delay(1)
    assert retry.args_kwargs["args"] == [[notification], 2]
    with time_machine.travel(NOON + retry_delay(1), tick=False):
        assert run_queued_tasks() == 1  # fails again, and queues the third attempt
    [third] = _queued()
    assert third.run_after == NOON + retry_delay(1) + retry_delay(2)
    assert retry_delay(2) > retry_delay(1)
    with time_machine.travel(third.run_after, tick=False):
        assert run_queued_tasks() == 1
    assert flaky.attempts == 3
    [message] = mail.outbox
    assert message.to == [user.email]
    state = ReminderEmail.objects.get(notification_id=notification)
    assert (state.state, state.attempts) == ("sent", 3)
    assert _queued() == []
    # The same firing's task run again (a duplicate, a late first attempt) sends nothing more.
    assert send_reminder_emails.call([notification]) == 0
    assert len(mail.outbox) == 1


def test_it_gives_up_after_the_last_attempt(user: User, flaky: type[FlakyBackend]) -> None:
    [notification] = _fired(user)
    flaky.failures = 100
    when = NOON
    with time_machine.travel(when, tick=False):
        send_reminder_emails.call([notification])
    for attempt in range(1, REMINDER_EMAIL_ATTEMPTS):
        when += retry_delay(attempt)
        with time_machine.travel(when, tick=False):
            assert run_queued_tasks() == 1
    assert flaky.attempts == REMINDER_EMAIL_ATTEMPTS
    assert _queued() == []
    state = ReminderEmail.objects.get(notification_id=notification)
    assert (state.state, state.attempts, state.last_error) == (
        "failed",
        REMINDER_EMAIL_ATTEMPTS,
        "ConnectionRefusedError",
    )
    assert mail.outbox == []
    assert Notification.objects.filter(pk=notification).exists()  # the notification stands


def test_only_the_failed_ones_of_a_batch_are_tried_again(user: User, flaky: type[FlakyBackend]) -> None:
    notifications = _fired(user, count=3)
    flaky.failures = 1  # the first of the three
    with time_machine.travel(NOON, tick=False):
        assert send_reminder_emails.call(notifications) == 2
    [retry] = _queued()
    [again], _attempt = retry.args_kwargs["args"]
    with time_machine.travel(NOON + retry_delay(1), tick=False):
        assert run_queued_tasks() == 1
    assert len(mail.outbox) == 3
    assert sorted(ReminderEmail.objects.values_list("state", flat=True)) == ["sent"] * 3
    assert ReminderEmail.objects.get(notification_id=again).attempts == 2


def test_a_firings_email_task_runs_after_commit_with_the_locmem_backend(
    user: User, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    Profile.objects.filter(user=user).update(preferences={"reminder_email": True})
    item = ItemFactory.create(
        list=ListFactory.create(user=user), due_date=date(2026, 7, 1), due_time=time(12)
    )
    ReminderFactory.create(item=item, user=user, remind_at=NOON - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        fire_batch(NOON)
    assert run_queued_tasks() == 1
    assert run_queued_tasks() == 0
    [message] = mail.outbox
    assert message.to == [user.email]
    assert ReminderEmail.objects.get().state == "sent"
