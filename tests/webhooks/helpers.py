"""Reading what the outbox wrote."""

from __future__ import annotations

import json
from typing import Any

from webhooks.models import Delivery


def sent_events(endpoint_id: Any = None) -> list[tuple[str, dict[str, Any]]]:
    """(type, body) of the deliveries (of one endpoint), oldest first."""
    deliveries = Delivery.objects.select_related("event").order_by("created_at", "event_id")
    if endpoint_id is not None:
        deliveries = deliveries.filter(endpoint_id=endpoint_id)
    return [(d.event.type, json.loads(d.event.body)) for d in deliveries]


def types_of(endpoint_id: Any = None) -> list[str]:
    return [event_type for event_type, _ in sent_events(endpoint_id)]
