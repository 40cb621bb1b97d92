"""Claiming due deliveries: each claim takes rows no other claim holds; a claim whose worker died is taken
again after its lease, and the late worker's outcome is then ignored (tests/webhooks/test_worker_process.py
races real workers on PostgreSQL)."""

from __future__ import annotations

from typing import cast

import pytest
from django.utils import timezone

from accounts.models import User
from lists.models import List
from tests.factories import ItemFactory, ListFactory
from tests.webhooks.conftest import StubResolver, make_webhook
from webhooks.delivery import CLAIM_LEASE, Outcome, _record, claim_due
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def five_due(user: User, resolver: StubResolver) -> None:
    resolver.names["hooks.example.com"] = ["93.184.216.34"]
    make_webhook(user, "https://hooks.example.com/in", ["item.created"])
    listed = cast(List, ListFactory(user=user))
    for _ in range(5):
        ItemFactory(list=listed, user=user)


@pytest.mark.usefixtures("five_due")
def test_claims_never_overlap() -> None:
    now = timezone.now()
    first = claim_due(now, token="a", limit=3)
    second = claim_due(now, token="b", limit=3)
    assert len(first) == 3
    assert len(second) == 2
    assert not {d.pk for d in first} & {d.pk for d in second}
    assert claim_due(now, token="c") == []
    # Not due again before the lease ends.
    assert claim_due(now + CLAIM_LEASE / 2, token="d") == []


@pytest.mark.usefixtures("five_due")
def test_a_dead_workers_claim_is_taken_again_and_its_late_outcome_ignored() -> None:
    now = timezone.now()
    dead = claim_due(now, token="dead")
    later = now + CLAIM_LEASE + CLAIM_LEASE / 10
    again = claim_due(later, token="alive")
    assert {d.pk for d in again} == {d.pk for d in dead}
    _record(dead, {d.pk: Outcome(status_code=500) for d in dead}, "dead", later)
    assert set(Delivery.objects.values_list("attempts", "claim")) == {(0, "alive")}
    assert Endpoint.objects.get().failing_since is None  # nor did its failures count against the endpoint
    _record(again, {d.pk: Outcome(status_code=204) for d in again}, "alive", later)
    assert set(Delivery.objects.values_list("status", "attempts", "last_status_code")) == {
        ("succeeded", 1, 204)
    }
