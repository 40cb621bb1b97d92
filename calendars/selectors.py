"""Reads of calendar feeds: the feed a token names, its ETag, and the items it shows."""

from __future__ import annotations

import hashlib
from typing import Any

from django.db.models import QuerySet

from calendars import ics
from calendars.models import CalendarFeed
from calendars.tokens import hash_token
from lists.models import Item
from sync.spaces import visible_heads

# What a VEVENT shows of an item; `due_time`, `recurrence` and `series_index` when the model has them.
_ITEM_FIELDS = {field.name for field in Item._meta.get_fields()}
COLUMNS = [
    "id",
    "title",
    "notes",
    "due_date",
    "version",
    "created_at",
    "updated_at",
    *(name for name in ("due_time", "recurrence", "series_index") if name in _ITEM_FIELDS),
]


def feeds_of(user: Any) -> QuerySet[CalendarFeed]:
    return CalendarFeed.objects.filter(user=user)


def feed_for_token(token: str) -> CalendarFeed | None:
    """The feed of a token, with its user and list, when the user is active; else None (one query)."""
    return (
        CalendarFeed.objects.select_related("user", "list")
        .filter(hashed_token=hash_token(token), user__is_active=True)
        .first()
    )


class FeedState:
    """What a feed shows now: the spaces its owner sees (read first, with their change counters), and from
    them the ETag. Every write to an item, a list, a membership or the profile (the time zone) moves the
    counter of the space it is in, and leaving a workspace removes its space: equal counters mean equal
    items, and so the same bytes."""

    def __init__(self, feed: CalendarFeed) -> None:
        self.feed = feed
        heads = list(visible_heads(feed.user).values_list("id", "last_change_number"))
        self.space_ids = [space_id for space_id, _ in heads]
        # A list feed whose list the owner no longer sees (a workspace left, the list moved there) shows
        # nothing and answers 404, like an unknown token.
        self.visible = feed.list is None or feed.list.space_id in self.space_ids
        state = "|".join(
            [
                ics.FORMAT_VERSION,
                str(feed.pk),
                str(feed.list_id or ""),
                feed.list.name if feed.list is not None else "",
                feed.user.timezone,
                ",".join(f"{space_id}:{number}" for space_id, number in heads),
            ]
        )
        self.etag = '"' + hashlib.sha256(state.encode()).hexdigest()[:32] + '"'

    def items(self) -> QuerySet[Item, dict[str, Any]]:
        """The open items with a due date in the spaces read for the ETag (and in the feed's list), by due
        date then id, as values (one query)."""
        items = Item.objects.filter(
            space_id__in=self.space_ids, status=Item.Status.OPEN, due_date__isnull=False
        )
        if self.feed.list_id is not None:
            items = items.filter(list_id=self.feed.list_id)
        return items.order_by("due_date", "id").values(*COLUMNS)

    def render(self) -> bytes:
        feed = self.feed
        name = f"Daymark: {feed.list.name}" if feed.list is not None else "Daymark"
        entries = (
            ics.Entry(
                id=row["id"],
                title=row["title"],
                notes=row["notes"],
                due_date=row["due_date"],
                due_time=row.get("due_time"),
                version=row["version"],
                created_at=row["created_at"],
                updated_at=row["updated_at"],
                recurrence=ics.recurrence_of(row),
            )
            for row in self.items()
        )
        return ics.render(name=name, timezone_name=feed.user.timezone, entries=entries)
