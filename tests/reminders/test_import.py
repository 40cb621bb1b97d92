"""Reminders through an export and an import: one that fired before the export does not fire again."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pytest

from accounts.models import User
from reminders.firing_services import fire_batch
from reminders.models import Notification, Reminder
from tests.conftest import client_for
from tests.factories import ItemFactory, ListFactory, ReminderFactory, UserFactory
from tests.portability.helpers import as_account, exported

pytestmark = pytest.mark.django_db
NOON = datetime(2026, 7, 1, 12, tzinfo=UTC)


def _import(user: User, document: dict[str, Any]) -> None:
    response = client_for(user).post(
        "/api/v1/user/import", {"document": document, "mode": "merge"}, format="json"
    )
    assert response.status_code == 200, response.content


def test_a_fired_reminder_imported_into_another_account_stays_fired(user: User) -> None:
    item = ItemFactory.create(
        list=ListFactory.create(user=user), due_date=date(2026, 7, 1), due_time=time(12)
    )
    fired = ReminderFactory.create(item=item, user=user, remind_at=NOON - timedelta(days=1))
    armed = ReminderFactory.create(item=item, user=user, remind_at=NOON + timedelta(hours=1))
    assert fire_batch(NOON) == 1
    other = UserFactory.create()
    _import(other, as_account(exported(client_for(user)), user.pk, other.pk))
    mine = {r.remind_at: r for r in Reminder.objects.filter(user=other)}
    assert mine[fired.remind_at].fired_at == NOON
    assert mine[armed.remind_at].fired_at is None
    assert fire_batch(NOON + timedelta(minutes=1)) == 0
    assert not Notification.objects.filter(user=other).exists()
    # The one that had not fired yet fires at its time (with the exporting account's own).
    assert fire_batch(NOON + timedelta(hours=1)) == 2
    assert Notification.objects.filter(user=other).count() == 1


def test_an_imported_fired_at_must_be_a_time(user: User) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user))
    ReminderFactory.create(item=item, user=user, remind_at=NOON)
    document = exported(client_for(user))
    document["reminders"][0]["fired_at"] = "yesterday"
    other = UserFactory.create()
    response = client_for(other).post(
        "/api/v1/user/import",
        {"document": as_account(document, user.pk, other.pk), "mode": "merge"},
        format="json",
    )
    assert response.status_code == 400, response.content
    assert "reminders[0].fired_at" in str(response.json())
    assert not Reminder.objects.filter(user=other).exists()


def test_pushes_and_rest_cannot_create_a_fired_reminder(user: User) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user))
    response = client_for(user).post(
        "/api/v1/reminders",
        {"item": str(item.pk), "remind_at": "2026-07-01T12:00:00Z", "fired_at": "2026-07-01T12:00:00Z"},
        format="json",
    )
    assert response.status_code == 201, response.content
    assert response.json()["fired_at"] is None
