"""Workers racing over the same due reminders on PostgreSQL: each reminder fires exactly once."""

from __future__ import annotations

import collections
import threading
import time as clock
from datetime import UTC, date, datetime, time
from typing import Any

import pytest

from accounts.models import User
from core.versioning import BaseVersion
from lists.services import item_update
from reminders import firing_services as firing
from reminders.models import Notification, Reminder
from sync.models import ChangeRecord
from tests.concurrency import at_once
from tests.conftest import RACES
from tests.factories import ItemFactory, ListFactory, ReminderFactory, UserFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True), RACES]
NOON = datetime(2026, 7, 1, 12, tzinfo=UTC)


def _due(users: int, per_user: int) -> list[User]:
    owners = [UserFactory.create() for _ in range(users)]
    for owner in owners:
        item = ItemFactory.create(
            list=ListFactory.create(user=owner), due_date=date(2026, 7, 1), due_time=time(12)
        )
        for n in range(per_user):
            ReminderFactory.create(item=item, user=owner, minutes_before=n)
    return owners


@pytest.mark.parametrize("candidates", [14, 4], ids=["candidates", "beyond-the-candidates"])
def test_two_workers_fire_each_due_reminder_exactly_once(monkeypatch: Any, candidates: int) -> None:
    # Small batches, so the two interleave over many of them; with 4 candidates (fewer than the 5
    # reminders of one space), the other worker often holds every candidate and the claim looks further.
    monkeypatch.setattr(firing, "BATCH_SPACES", 3)
    monkeypatch.setattr(firing, "BATCH_REMINDERS", 7)
    monkeypatch.setattr(firing, "CANDIDATES", candidates)
    _due(users=24, per_user=5)

    settled = at_once(2, lambda n: firing.fire_due(NOON))

    assert sum(settled) == 120
    assert all(count > 0 for count in settled), settled  # both took a share
    fired = collections.Counter(Notification.objects.values_list("data__reminder", flat=True))
    assert len(fired) == 120
    assert set(fired.values()) == {1}
    assert set(Reminder.objects.values_list("version", flat=True)) == {2}
    assert not Reminder.objects.filter(fired_at__isnull=True).exists()
    # Every number of every space taken once: no two writers interleaved inside one space.
    numbers = ChangeRecord.objects.values_list("space_id", "number")
    assert len(numbers) == len(set(numbers))


def test_a_worker_and_the_owners_own_edit_never_both_win(monkeypatch: Any) -> None:
    """An edit racing the firing either lands first (and the reminder fires for its new time, later) or
    waits for the firing and re-arms it; the reminder never fires twice and the edit is never lost."""
    [owner] = _due(users=1, per_user=1)
    reminder = Reminder.objects.get(user=owner)

    def work(n: int) -> Any:
        if n == 0:
            return firing.fire_due(NOON)
        from reminders.services import reminder_update

        current = Reminder.objects.get(pk=reminder.pk)
        return reminder_update(
            user=owner,
            reminder_id=reminder.pk,
            base=BaseVersion(current.version),
            data={"minutes_before": 120},
        )

    at_once(2, work)
    reminder.refresh_from_db()
    assert reminder.minutes_before == 120
    assert Notification.objects.filter(user=owner).count() <= 1
    if reminder.fired_at is None:  # the edit landed after the firing: armed again for 10:00
        assert reminder.fires_at == datetime(2026, 7, 1, 10, tzinfo=UTC)


def test_a_due_date_moved_while_firing_is_seen(monkeypatch: Any) -> None:
    [owner] = _due(users=1, per_user=1)
    item = Reminder.objects.get(user=owner).item

    def work(n: int) -> Any:
        if n == 0:
            return firing.fire_due(NOON)
        return item_update(
            user=owner, item_id=item.pk, base=BaseVersion(item.version), data={"due_date": date(2026, 7, 2)}
        )

    at_once(2, work)
    reminder = Reminder.objects.get(user=owner)
    if reminder.fired_at is None:
        assert reminder.fires_at == datetime(2026, 7, 2, 12, tzinfo=UTC)
    else:
        assert Notification.objects.filter(user=owner).count() == 1


def test_a_workspace_item_done_while_its_reminder_waits_to_fire_does_not_fire() -> None:
    """A workspace item's write does not lock the reminder owners' spaces, only (through the `fires_at`
    recompute) their reminders' rows: a firing that waited on such a row must judge the item as that write
    left it (done), not as its own statement first read it (open)."""
    from django.db import connection, transaction

    from tests.factories import MemberFactory, WorkspaceFactory

    workspace = WorkspaceFactory.create()
    member = MemberFactory.create(workspace=workspace, role="viewer").user
    shared = ListFactory.create(user=workspace.user, workspace=workspace.pk)
    item = ItemFactory.create(list=shared, user=workspace.user, due_date=date(2026, 7, 1), due_time=time(12))
    ReminderFactory.create(item=item, user=member, minutes_before=0)
    written = threading.Event()

    def waiting_on_a_lock() -> bool:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                " AND wait_event_type = 'Lock'"
            )
            return bool(cursor.fetchone()[0])

    def work(n: int) -> Any:
        if n == 0:
            written.wait(10)
            return firing.fire_batch(NOON)
        with transaction.atomic():
            item_update(
                user=workspace.user,
                item_id=item.pk,
                base=BaseVersion(item.version),
                data={"status": "done", "due_time": time(11, 59)},
            )
            written.set()
            deadline = clock.monotonic() + 10
            while not waiting_on_a_lock():  # the firing waits for this write's lock on the reminder
                assert clock.monotonic() < deadline, "the firing never waited"
                clock.sleep(0.02)
        return None

    at_once(2, work)
    assert not Notification.objects.filter(user=member, kind="reminder").exists()
    reminder = Reminder.objects.get(user=member)
    assert reminder.fired_at is None
    assert reminder.skipped_at is not None
    assert reminder.fires_at == datetime(2026, 7, 1, 11, 59, tzinfo=UTC)


def test_a_claim_looks_past_candidates_another_worker_holds(monkeypatch: Any) -> None:
    """The spaces of the earliest due reminders are the candidates; when another worker holds all of them,
    the claim takes the free spaces beyond them at once instead of reporting nothing due."""
    from django.db import transaction

    monkeypatch.setattr(firing, "CANDIDATES", 5)  # the first owner's 5 reminders are the earliest due
    first, *others = _due(users=3, per_user=5)
    Reminder.objects.filter(user=first).update(fires_at=datetime(2026, 7, 1, 9, tzinfo=UTC))
    held = threading.Event()
    done = threading.Event()

    def work(n: int) -> Any:
        if n == 0:
            with transaction.atomic():
                claimed = firing._claim_spaces(NOON)
                held.set()
                done.wait(10)
            return claimed
        held.wait(10)
        try:
            with transaction.atomic():
                return firing._claim_spaces(NOON)
        finally:
            done.set()

    holder, other = at_once(2, work)
    personal = {user.pk: space for user, space in ((u, _personal_space(u)) for u in [first, *others])}
    assert holder == [personal[first.pk]]
    assert sorted(other) == sorted(personal[user.pk] for user in others)


def _personal_space(user: User) -> int:
    from sync.models import Space

    return Space.objects.get(user=user).pk
