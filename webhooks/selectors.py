"""Reads of webhooks for their owner."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from webhooks.models import Delivery, Endpoint

DELIVERIES_SHOWN = timedelta(days=30)


def endpoints_of(user: Any) -> QuerySet[Endpoint]:
    return Endpoint.objects.filter(user=user)


def deliveries_of(endpoint: Endpoint) -> QuerySet[Delivery]:
    """The endpoint's deliveries of the last 30 days, with their events' types (one query a page)."""
    since = timezone.now() - DELIVERIES_SHOWN
    return (
        Delivery.objects.filter(endpoint=endpoint, created_at__gte=since)
        .select_related("event")
        .defer("event__body")
    )
