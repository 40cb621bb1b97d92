"""Writes of webhook endpoints and their deliveries (docs/api/webhooks.md). Endpoints are not synced
entities (their secret must not travel through sync), so these are plain transactions."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit
from uuid import UUID

from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.http import Http404
from django.utils import timezone

from accounts.audit import audit_record
from accounts.models import AuditEvent, User
from core.problems import validation_error
from sync import registry
from sync.services import change_writer
from webhooks import guard
from webhooks.models import PING, Delivery, Endpoint, Event
from webhooks.signing import new_secret

# Every endpoint multiplies each write's deliveries: a small number keeps one user's share of the worker
# countable (docs/operations.md).
MAX_ENDPOINTS_PER_USER = 10


def event_body(event_type: str, data: dict[str, Any], at: datetime) -> str:
    """The JSON body of an event, as sent and signed: `{type, timestamp, data}`."""
    return json.dumps(
        {"type": event_type, "timestamp": at.isoformat().replace("+00:00", "Z"), "data": data},
        cls=DjangoJSONEncoder,
        separators=(",", ":"),
    )


def _checked_url(url: str) -> str:
    try:
        guard.check_url(url)
    except guard.Refused as refused:
        raise validation_error({"url": [str(refused)]}) from refused
    return url


def endpoint_create(*, user: User, url: str, events: list[str]) -> tuple[Endpoint, str]:
    """A new active endpoint and its signing secret (returned to be shown once). The URL is checked first
    (https, a public address), outside any transaction: resolving a name may take a while."""
    _checked_url(url)
    with transaction.atomic():
        # Serialises the user's creations, so two at once cannot both pass the limit.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        if Endpoint.objects.filter(user=user).count() >= MAX_ENDPOINTS_PER_USER:
            raise validation_error(
                {"non_field_errors": [f"At most {MAX_ENDPOINTS_PER_USER} webhooks; delete one first."]}
            )
        secret = new_secret()
        endpoint = Endpoint.objects.create(user=user, url=url, events=events, secret=secret)
        _audit(AuditEvent.Event.WEBHOOK_CREATED, endpoint, events=events)
    return endpoint, secret


def _audit(event: str, endpoint: Endpoint, **metadata: Any) -> None:
    """An audit event naming the endpoint and its host only: a webhook URL's path or query is often its
    own credential (`https://hooks.example.com/services/T0/B0/<secret>`), which the log must not hold."""
    audit_record(
        event=event,
        user=endpoint.user,
        target_type="webhook",
        target_id=str(endpoint.pk),
        metadata={"host": urlsplit(endpoint.url).hostname or "", **metadata},
    )


def endpoint_update(
    *,
    user: User,
    endpoint_id: UUID,
    url: str | None = None,
    events: list[str] | None = None,
    active: bool | None = None,
) -> Endpoint:
    """PATCH: a new URL (checked like a new one), new events, or active on or off. Turning an endpoint on
    again forgets its failures; turning it off fails its pending deliveries, as a disabling does."""
    if url is not None:
        _checked_url(url)
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().filter(pk=endpoint_id, user=user).first()
        if endpoint is None:
            raise Http404
        if url is not None:
            endpoint.url = url
        if events is not None:
            endpoint.events = events
        if active is not None and active != endpoint.active:
            endpoint.active = active
            endpoint.disabled_reason = ""
            endpoint.failing_since = None
            if not active:
                _fail_pending([endpoint.pk], "The endpoint was turned off.")
        endpoint.save()
    return endpoint


def endpoint_delete(*, user: User, endpoint_id: UUID) -> None:
    """Deletes the endpoint and its deliveries, audited in the same transaction."""
    with transaction.atomic():
        endpoint = Endpoint.objects.select_for_update().filter(pk=endpoint_id, user=user).first()
        if endpoint is None:
            raise Http404
        _audit(AuditEvent.Event.WEBHOOK_DELETED, endpoint)
        endpoint.delete()


def _owned(user: User, endpoint_id: UUID) -> Endpoint:
    endpoint = Endpoint.objects.filter(pk=endpoint_id, user=user).first()
    if endpoint is None:
        raise Http404
    return endpoint


def _require_active(endpoint: Endpoint) -> None:
    if not endpoint.active:
        raise validation_error({"non_field_errors": ["The webhook is not active; turn it on first."]})


def endpoint_test(*, user: User, endpoint_id: UUID) -> Delivery:
    """A `ping` event for this endpoint alone, due at once."""
    endpoint = _owned(user, endpoint_id)
    _require_active(endpoint)
    now = timezone.now()
    with transaction.atomic():
        event = Event.objects.create(
            type=PING, body=event_body(PING, {"webhook": str(endpoint.pk)}, now), created_at=now
        )
        return Delivery.objects.create(endpoint=endpoint, event=event, next_attempt_at=now, created_at=now)


def delivery_redeliver(*, user: User, endpoint_id: UUID, delivery_id: UUID) -> Delivery:
    """One more attempt of a delivery, due at once, with the same `webhook-id` (it is the same message:
    a consumer that processed it may ignore it). A delivery still pending is only made due now."""
    endpoint = _owned(user, endpoint_id)
    _require_active(endpoint)
    now = timezone.now()
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().filter(pk=delivery_id, endpoint=endpoint).first()
        if delivery is None:
            raise Http404
        delivery.status = Delivery.Status.PENDING
        delivery.next_attempt_at = now
        delivery.claim = ""
        delivery.save(update_fields=["status", "next_attempt_at", "claim"])
    return delivery


def _fail_pending(endpoint_ids: Iterable[UUID], reason: str) -> int:
    return Delivery.objects.filter(endpoint_id__in=list(endpoint_ids), status=Delivery.Status.PENDING).update(
        status=Delivery.Status.FAILED, next_attempt_at=None, claim="", last_error=reason[:300]
    )


def endpoint_disable(*, endpoint_id: UUID, reason: str) -> bool:
    """Disables an active endpoint (a 410, three days of failures): its pending deliveries fail, and its
    owner gets a `webhook_disabled` notification. False when it was not active any more."""
    with transaction.atomic():
        endpoint = (
            Endpoint.objects.select_for_update().select_related("user").filter(pk=endpoint_id, active=True)
        ).first()
        if endpoint is None:
            return False
        endpoint.active = False
        endpoint.disabled_reason = reason
        endpoint.save(update_fields=["active", "disabled_reason", "updated_at"])
        label = Endpoint.DisabledReason(reason).label
        _fail_pending([endpoint.pk], f"The endpoint was disabled: it {label}.")
        _notify_disabled(endpoint, label)
    return True


def _notify_disabled(endpoint: Endpoint, label: str) -> None:
    """The owner's `webhook_disabled` notification, written like every notification (a synced entity of
    the reminders app, reached through the sync registry: the integrations do not import each other)."""
    notification_type = registry.get("notification")
    if notification_type is None:
        return
    with change_writer(endpoint.user) as writer:
        data = {
            "webhook": str(endpoint.pk),
            "url": endpoint.url,
            "reason": endpoint.disabled_reason,
            "why": label,
        }
        model: Any = notification_type.model
        notification = model(kind="webhook_disabled", data=data)
        writer.save(notification, created=True)
