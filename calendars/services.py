"""Writes of calendar feeds. A feed is not a synced entity (clients never edit it offline, and its secret
must not travel through sync), so its writes are plain transactions, not `change_writer`'s."""

from __future__ import annotations

from uuid import UUID

from django.db import transaction
from django.http import Http404

from accounts.models import User
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
    return feed, token


def calendar_feed_revoke(*, user: User, feed_id: UUID) -> None:
    """Deletes the feed: its URL stops at once. Another user's feed is a 404, as one that does not exist."""
    deleted, _ = CalendarFeed.objects.filter(pk=feed_id, user=user).delete()
    if not deleted:
        raise Http404
