"""Firing: once, with a notification, an email when asked for, the signal after commit; never for an item
done or deleted by then, nor for a deactivated owner; armed again by a change of its timing."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail

from accounts.models import Profile, User
from accounts.services.users import user_activate, user_deactivate
from core.versioning import BaseVersion
from lists.models import Item
from lists.services import item_delete, item_update
from reminders.events import reminder_fired
from reminders.firing_services import fire_batch, fire_due, fire_job, prune_job
from reminders.models import Notification, Reminder
from reminders.services import notification_create, reminder_update
from reminders.tasks import send_reminder_emails
from sync.models import ChangeRecord, Space
from tests.factories import (
    ItemFactory,
    ListFactory,
    MemberFactory,
    ReminderFactory,
    UserFactory,
    WorkspaceFactory,
)
from workspaces.services import member_remove

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)


def _run_queued_tasks() -> None:
    """What a worker would run now. With the database task backend the tasks wait in the queue; with the
    immediate one (before the worker's app was installed) they ran when they were enqueued."""
    try:
        from jobs.tasks import run_queued_tasks  # type: ignore[import-not-found,unused-ignore]
    except ImportError:
        return
    run_queued_tasks()


def _item(user: User, **extra: Any) -> Item:
    return ItemFactory.create(
        list=ListFactory.create(user=user), due_date=date(2026, 7, 1), due_time=time(12, 0), **extra
    )


def _reminder(user: User, at: datetime = NOON, item: Item | None = None) -> Reminder:
    return ReminderFactory.create(item=item or _item(user), user=user, remind_at=at)


def test_a_due_reminder_fires_once_with_a_notification(user: User) -> None:
    reminder = _reminder(user)
    early = _reminder(user, NOON + timedelta(minutes=5))
    assert fire_batch(NOON - timedelta(seconds=1)) == 0
    assert fire_batch(NOON) == 1
    assert fire_batch(NOON) == 0  # once
    reminder.refresh_from_db()
    assert reminder.fired_at == NOON
    assert reminder.version == 2
    early.refresh_from_db()
    assert early.fired_at is None
    [notification] = Notification.objects.filter(user=user)
    assert notification.kind == "reminder"
    assert notification.data == {
        "reminder": str(reminder.pk),
        "item": str(reminder.item_id),
        "title": reminder.item.title,
        "fires_at": "2026-07-01T12:00:00.000000Z",
    }
    # Both are changes of the user's space, for sync and the live pokes.
    records = ChangeRecord.objects.filter(entity_id__in=[reminder.pk, notification.pk]).order_by("number")
    assert [(r.entity_type, r.version, r.fields) for r in records] == [
        ("reminder", 1, ["fired_at", "item", "minutes_before", "remind_at"]),
        ("notification", 1, ["data", "kind", "read_at"]),
        ("reminder", 2, ["fired_at"]),
    ]


def test_a_reminder_of_a_done_item_does_not_fire_even_when_reopened(user: User) -> None:
    item = _item(user)
    reminder = _reminder(user, item=item)
    item_update(user=user, item_id=item.pk, base=BaseVersion(item.version), data={"status": "done"})
    assert fire_batch(NOON) == 1  # settled: skipped
    reminder.refresh_from_db()
    assert reminder.fired_at is None
    assert reminder.skipped_at == NOON
    item.refresh_from_db()
    item_update(user=user, item_id=item.pk, base=BaseVersion(item.version), data={"status": "open"})
    assert fire_batch(NOON + timedelta(minutes=1)) == 0
    assert not Notification.objects.exists()


def test_a_reminder_due_while_its_owner_is_deactivated_does_not_fire_even_when_reactivated(
    user: User,
) -> None:
    reminder = _reminder(user)
    later = _reminder(user, NOON + timedelta(minutes=5))
    staff = UserFactory.create(is_staff=True)
    user_deactivate(user=user, by_staff=staff)
    assert fire_batch(NOON) == 1  # settled: skipped
    reminder.refresh_from_db()
    assert (reminder.fired_at, reminder.skipped_at) == (None, NOON)
    user_activate(user=user, by_staff=staff)
    assert fire_batch(NOON + timedelta(minutes=1)) == 0  # the one that came due meanwhile stays unfired
    assert not Notification.objects.exists()
    assert fire_batch(NOON + timedelta(minutes=5)) == 1  # one due after the reactivation fires
    later.refresh_from_db()
    assert later.fired_at == NOON + timedelta(minutes=5)
    assert Notification.objects.filter(user=user).count() == 1


def test_a_reminder_of_a_deleted_item_goes_with_it(user: User) -> None:
    item = _item(user)
    reminder = _reminder(user, item=item)
    item_delete(user=user, item_id=item.pk, base=BaseVersion(item.version))
    assert not Reminder.objects.filter(pk=reminder.pk).exists()
    assert ChangeRecord.objects.filter(entity_id=reminder.pk, deleted=True).exists()
    assert fire_batch(NOON) == 0
    assert not Notification.objects.exists()


def test_changing_the_timing_after_it_fired_makes_it_fire_again(user: User) -> None:
    reminder = _reminder(user)
    assert fire_batch(NOON) == 1
    reminder.refresh_from_db()
    reminder_update(
        user=user,
        reminder_id=reminder.pk,
        base=BaseVersion(reminder.version),
        data={"remind_at": NOON + timedelta(hours=1)},
    )
    assert fire_batch(NOON + timedelta(minutes=30)) == 0
    assert fire_batch(NOON + timedelta(hours=1)) == 1
    reminder.refresh_from_db()
    assert reminder.fired_at == NOON + timedelta(hours=1)
    assert Notification.objects.filter(user=user).count() == 2


def test_a_moved_due_date_of_a_skipped_reminder_arms_it_for_the_new_time(user: User) -> None:
    item = _item(user)
    reminder = ReminderFactory.create(item=item, user=user, minutes_before=0)
    item_update(user=user, item_id=item.pk, base=BaseVersion(item.version), data={"status": "done"})
    assert fire_batch(NOON) == 1
    item.refresh_from_db()
    item_update(
        user=user,
        item_id=item.pk,
        base=BaseVersion(item.version),
        data={"status": "open", "due_date": date(2026, 7, 2)},
    )
    reminder.refresh_from_db()
    assert reminder.skipped_at is None
    assert fire_batch(NOON + timedelta(days=1)) == 1
    assert Notification.objects.filter(user=user).count() == 1


def test_a_removed_members_reminders_on_the_workspace_go_and_never_fire(db: Any) -> None:
    workspace = WorkspaceFactory.create()
    member = MemberFactory.create(workspace=workspace, role="viewer").user
    shared = ListFactory.create(user=workspace.user, workspace=workspace.pk)
    item = ItemFactory.create(list=shared, user=workspace.user, due_date=date(2026, 7, 1), due_time=time(12))
    theirs = _reminder(member, item=item)
    member_remove(user=workspace.user, workspace_id=workspace.pk, member_user_id=member.pk)
    assert not Reminder.objects.filter(pk=theirs.pk).exists()
    assert fire_batch(NOON) == 0


def test_the_job_checks_the_items_state_even_if_fires_at_is_stale(user: User) -> None:
    item = _item(user)
    reminder = ReminderFactory.create(item=item, user=user, minutes_before=0)
    # As if an update of the due date had been missed: the stored time is an hour early.
    Reminder.objects.filter(pk=reminder.pk).update(fires_at=NOON - timedelta(hours=1))
    assert fire_batch(NOON - timedelta(minutes=30)) == 1  # corrected, not fired
    reminder.refresh_from_db()
    assert reminder.fires_at == NOON
    assert reminder.fired_at is None
    assert fire_batch(NOON) == 1
    reminder.refresh_from_db()
    assert reminder.fired_at == NOON


def test_an_email_goes_to_those_who_asked(user: User, other_user: User) -> None:
    Profile.objects.filter(user=user).update(preferences={"reminder_email": True})
    _reminder(user)
    _reminder(other_user)
    with time_machine.travel(NOON, tick=False):
        fire_batch(NOON)
    notification = Notification.objects.get(user=user)
    assert send_reminder_emails.call([str(notification.pk)]) == 1
    [message] = mail.outbox
    assert message.to == [user.email]
    assert notification.data["title"] in message.subject


def test_after_commit_the_signal_and_the_email_task_run(
    user: User, django_capture_on_commit_callbacks: Any
) -> None:
    Profile.objects.filter(user=user).update(preferences={"reminder_email": True})
    reminder = _reminder(user)
    received: list[tuple[Any, Any]] = []

    def receiver(sender: Any, reminder: Reminder, notification: Notification, **kwargs: Any) -> None:
        received.append((reminder.pk, notification.kind))

    reminder_fired.connect(receiver)
    try:
        with django_capture_on_commit_callbacks(execute=True):
            fire_batch(NOON)
    finally:
        reminder_fired.disconnect(receiver)
    assert received == [(reminder.pk, "reminder")]
    _run_queued_tasks()
    assert len(mail.outbox) == 1


def test_a_batch_is_limited_and_fire_due_takes_the_rest(user: User, monkeypatch: Any) -> None:
    import reminders.firing_services as firing

    monkeypatch.setattr(firing, "BATCH_REMINDERS", 3)
    item = _item(user)
    for minutes in range(7):
        _reminder(user, NOON - timedelta(minutes=minutes), item=item)
    assert fire_batch(NOON) == 3
    assert fire_due(NOON) == 4
    assert Notification.objects.count() == 7


def test_a_claim_of_spaces_fired_meanwhile_claims_again(user: User, monkeypatch: Any) -> None:
    """Another worker held the candidate spaces while they were read, fired their reminders and committed
    before this claim locked them: the batch claims again instead of answering 0 (which ends a task while
    reminders are due)."""
    import reminders.firing_services as firing

    fired_meanwhile = UserFactory.create()
    _reminder(fired_meanwhile)
    assert fire_batch(NOON) == 1  # the other worker's batch
    due = _reminder(user)
    claims: list[list[int]] = []
    real_claim = firing._claim_spaces

    def claim(now: datetime) -> list[int]:
        # The first claim gets the space whose reminders the other worker fired (nothing due in it).
        claimed = [Space.objects.get(user=fired_meanwhile).pk] if not claims else real_claim(now)
        claims.append(claimed)
        return claimed

    monkeypatch.setattr(firing, "_claim_spaces", claim)
    assert fire_batch(NOON) == 1
    assert len(claims) == 2
    due.refresh_from_db()
    assert due.fired_at == NOON


def test_the_job_shares_out_what_one_batch_leaves(user: User, monkeypatch: Any) -> None:
    import reminders.firing_services as firing

    monkeypatch.setattr(firing, "BATCH_REMINDERS", 2)
    item = _item(user)
    for minutes in range(5):
        _reminder(user, NOON - timedelta(minutes=minutes), item=item)
    assert fire_job(NOON) == 2
    _run_queued_tasks()
    assert Reminder.objects.filter(fired_at__isnull=True).count() == 0


def test_the_job_tops_the_task_queue_up_instead_of_piling_tasks_on_it(user: User, monkeypatch: Any) -> None:
    from django_tasks_db.models import DBTaskResult

    import reminders.firing_services as firing
    from reminders.tasks import fire_due_task

    monkeypatch.setattr(firing, "BATCH_REMINDERS", 1)
    item = _item(user)
    for minutes in range(30):
        _reminder(user, NOON - timedelta(minutes=minutes), item=item)
    waiting = DBTaskResult.objects.filter(status="READY", task_path=fire_due_task.module_path)
    # A backlog that outlasts the job's runs (no worker took a task between them).
    for run in range(3):
        assert fire_job(NOON + timedelta(seconds=15 * run)) == 1
        assert waiting.count() == firing.MAX_TASKS
    _run_queued_tasks()
    assert Reminder.objects.filter(fired_at__isnull=True).count() == 0


def test_notifications_older_than_90_days_are_pruned_with_tombstones(user: User) -> None:
    with time_machine.travel(NOON - timedelta(days=91), tick=False):
        old = notification_create(user=user, kind="reminder", data={})
    recent = notification_create(user=user, kind="reminder", data={})
    with time_machine.travel(NOON, tick=False):
        assert prune_job(NOON) == 1
    assert list(Notification.objects.values_list("pk", flat=True)) == [recent.pk]
    assert ChangeRecord.objects.filter(entity_id=old.pk, deleted=True).exists()


def test_an_inactive_users_reminders_are_skipped(db: Any) -> None:
    user = UserFactory.create()
    _reminder(user)
    User.objects.filter(pk=user.pk).update(is_active=False)
    assert fire_batch(NOON) == 1
    assert not Notification.objects.exists()
