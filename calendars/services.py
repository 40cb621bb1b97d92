"""Writes of calendar feeds. A feed is not a synced entity (clients never edit it offline, and its secret
must not travel through sync), so its writes are plain transactions, not `change_writer`'s."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db import transaction
from django.http import Http404

from accounts.audit import audit_record
from accounts.models import AuditEvent, User
from calendars.models import CalendarFeed
from calendars.tokens import hash_token, new_token
from core.problems import validation_error
from lists.models import List

# Each feed is a standing read of the user's items by whoever holds its URL: a small number keeps that
# surface countable (docs/security.md).
MAX_FEEDS_PER_USER = 20


def calendar_feed_create(*, user: User, list_id: UUID | None = None) -> tuple[CalendarFeed, str]:
    """A feed of everything the user can see, or of one list they can see (any role: reading is enough),
    and its token, which exists only in this return value (only its hash is stored). A list they cannot see
    is a 400 that does not say whether it exists, as for any reference."""
    with transaction.atomic():
        # Serialises the user's creations, so two at once cannot both pass the limit.
        User.objects.select_for_update().filter(pk=user.pk).values_list("pk", flat=True).first()
        if CalendarFeed.objects.filter(user=user).count() >= MAX_FEEDS_PER_USER:
            raise validation_error(
                {"non_field_errors": [f"At most {MAX_FEEDS_PER_USER} calendar feeds; revoke one first."]}
            )
        listed = None
        if list_id is not None:
            listed = List.objects.for_user(user).filter(pk=list_id).first()
            if listed is None:
                raise validation_error({"list": ["No such list."]})
        token = new_token()
        feed = CalendarFeed.objects.create(user=user, list=listed, hashed_token=hash_token(token))
        _audit(AuditEvent.Event.CALENDAR_FEED_CREATED, feed)
    return feed, token


def calendar_feed_revoke(*, user: User, feed_id: UUID, by_staff: User | None = None) -> None:
    """Deletes the feed: its URL stops at once. Another user's feed is a 404, as one that does not exist.
    Audited as the owner's event; a staff member's revocation (the admin) names them in `revoked_by`."""
    with transaction.atomic():
        feed = CalendarFeed.objects.select_for_update().filter(pk=feed_id, user=user).first()
        if feed is None:
            raise Http404
        extra = {"revoked_by": by_staff.email} if by_staff is not None else {}
        _audit(AuditEvent.Event.CALENDAR_FEED_REVOKED, feed, **extra)
        feed.delete()


def _audit(event: str, feed: CalendarFeed, **metadata: Any) -> None:
    audit_record(
        event=event,
        user=feed.user,
        target_type="calendar_feed",
        target_id=str(feed.pk),
        metadata={"list": str(feed.list_id) if feed.list_id else None, **metadata},
    )
