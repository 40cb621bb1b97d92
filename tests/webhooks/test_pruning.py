"""The worker's nightly pruning of webhook deliveries (webhooks/periodic.py): deliveries made more than 30
days ago go, in batches; an event goes once no delivery names it and it is as old."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from accounts.models import User
from webhooks.models import Delivery, Endpoint, Event
from webhooks.periodic import RETENTION, prune_deliveries

pytestmark = pytest.mark.django_db

NOW = datetime.fromisoformat("2026-11-30T03:41:00+00:00")
OLD = NOW - RETENTION - timedelta(seconds=1)
KEPT = NOW - RETENTION  # exactly 30 days: not older than the retention, so it stays


def event(at: datetime) -> Event:
    return Event.objects.create(type="item.created", body="{}", created_at=at)


def delivery(endpoint: Endpoint, of: Event, at: datetime) -> Delivery:
    return Delivery.objects.create(
        endpoint=endpoint, event=of, status=Delivery.Status.SUCCEEDED, attempts=1, created_at=at
    )


@pytest.mark.parametrize("batch_size", [2, 2000])
def test_old_deliveries_and_the_events_they_leave_alone_are_deleted(user: User, batch_size: int) -> None:
    endpoint = Endpoint.objects.create(user=user, url="https://hooks.example.com/x", events=["*"], secret="s")
    other = Endpoint.objects.create(user=user, url="https://hooks.example.com/y", events=["*"], secret="s")
    gone = event(OLD)  # every delivery old: the event goes with them
    old_deliveries = [delivery(endpoint, gone, OLD), delivery(other, gone, OLD)]
    still_named = event(OLD)  # an old event with one recent delivery (redelivered late) stays
    old_deliveries.append(delivery(endpoint, still_named, OLD))
    recent = delivery(other, still_named, KEPT)
    never_delivered = event(OLD)  # no endpoint wanted it
    young_alone = event(KEPT)  # not yet delivered, and young: stays
    boundary = delivery(endpoint, event(KEPT), KEPT)
    for n in range(3):  # more old rows than one batch
        old_deliveries.append(delivery(endpoint, event(OLD - timedelta(days=n)), OLD - timedelta(days=n)))

    assert prune_deliveries(NOW, batch_size=batch_size) == len(old_deliveries)

    assert set(Delivery.objects.values_list("pk", flat=True)) == {recent.pk, boundary.pk}
    assert set(Event.objects.values_list("pk", flat=True)) == {
        still_named.pk,
        young_alone.pk,
        boundary.event_id,
    }
    assert not Event.objects.filter(pk__in=[gone.pk, never_delivered.pk]).exists()
    assert Endpoint.objects.count() == 2


def test_nothing_to_prune_is_zero(user: User) -> None:
    endpoint = Endpoint.objects.create(user=user, url="https://hooks.example.com/x", events=["*"], secret="s")
    delivery(endpoint, event(KEPT), KEPT)
    assert prune_deliveries(NOW) == 0
    assert Delivery.objects.count() == Event.objects.count() == 1
