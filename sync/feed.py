"""The change feed of API.md section 5: what changed for one user after a cursor.

Live entities are read by their `change_number` (each once, in its latest state) and deletions from the
tombstones. Everything is bounded by the user's committed `last_change_number` H, read first: a user's
writes are serialised by the sync-state lock and that counter commits with them, so every change numbered
up to H is already visible, and a change that commits later gets a number above H and the next pull finds
it. That is why a client that always continues from the returned cursor never misses a change.

Queries per request, whatever the page size: the sync state, read together with whether each registered
type (and, for an incremental sync, the tombstones) has anything numbered above the cursor; then one per
type that has, and when there are tombstones to read, the tombstones and a re-check of the prune watermark.
Skipping is exact: that one statement sees one snapshot, in which every change up to H is committed, and a
change that commits later is numbered above H.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db.models import Exists, Q

from core.pagination import parse_limit
from core.problems import CursorExpired, validation_error
from sync import registry
from sync.models import ChangeRecord, SyncState

DEFAULT_LIMIT = 500
MAX_LIMIT = 1000
_MAX_CURSOR_DIGITS = 18  # fits a signed 64-bit change number
MAX_CURSOR = 10**_MAX_CURSOR_DIGITS - 1


@dataclass(frozen=True)
class FeedPosition:
    """The user's committed counter and prune watermark, read once per answer."""

    head: int
    pruned_through: int


def parse_cursor(raw: Any) -> int:
    """A cursor from the query string or a JSON body: absent, or a non-negative integer."""
    if raw is None or raw == "":
        return 0
    if isinstance(raw, bool):
        raise validation_error({"cursor": ["Must be a non-negative integer."]})
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= _MAX_CURSOR_DIGITS:
        raw = int(raw)
    if not isinstance(raw, int) or not 0 <= raw < 10**_MAX_CURSOR_DIGITS:
        raise validation_error({"cursor": ["Must be a non-negative integer."]})
    return raw


def parse_feed_limit(raw: str | None) -> int:
    return parse_limit(raw, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)


def position_of(user: Any) -> FeedPosition:
    row = (
        SyncState.objects.filter(user_id=user.pk).values_list("last_change_number", "pruned_through").first()
    )
    return FeedPosition(*row) if row else FeedPosition(0, 0)


def _position_and_pending(user: Any, cursor: int) -> tuple[FeedPosition, set[str], bool]:
    """The position, the names of the types with entities numbered above `cursor`, and whether tombstones
    are numbered above it, in one query."""
    types = registry.all_types()
    pending = {
        f"pending_{index}": Exists(
            sync_type.model.objects.filter(  # type: ignore[attr-defined]
                user_id=user.pk, change_number__gt=cursor
            )
        )
        for index, sync_type in enumerate(types)
    }
    if cursor:
        pending["pending_tombstones"] = Exists(
            ChangeRecord.objects.filter(user_id=user.pk, deleted=True, number__gt=cursor)
        )
    row = (
        SyncState.objects.filter(user_id=user.pk)
        .annotate(**pending)
        .values_list("last_change_number", "pruned_through", *pending)
        .first()
    )
    if row is None:
        return FeedPosition(0, 0), set(), False
    flags = row[2:]
    names = {sync_type.name for sync_type, flag in zip(types, flags, strict=False) if flag}
    return FeedPosition(row[0], row[1]), names, bool(cursor and flags[-1])


def check_cursor(cursor: int, position: FeedPosition) -> None:
    """A cursor from the future is a 400; one older than what was pruned is a 410 (do a full sync)."""
    if cursor > position.head:
        raise validation_error({"cursor": ["This cursor was never issued."]})
    if 0 < cursor < position.pruned_through:
        raise CursorExpired()


def changes_since(user: Any, cursor: int, limit: int) -> dict[str, Any]:
    """`{"cursor", "has_more", "changes"}` after `cursor`, at most `limit` changes (see the module doc).

    A full sync (cursor 0) has no tombstones. Its first page also holds every live entity numbered up to
    the prune watermark whatever `limit` says: a continuation cursor below the watermark would be 410, and
    the client would start its full sync again forever.
    """
    position, pending_types, pending_tombstones = _position_and_pending(user, cursor)
    check_cursor(cursor, position)
    full = cursor == 0
    floor = position.pruned_through if full else cursor
    head = position.head

    rows: list[tuple[int, str, Any, bool]] = []  # (number, type, entity or id, deleted)
    for sync_type in registry.all_types():
        if sync_type.name not in pending_types:
            continue
        in_range = sync_type.model.objects.filter(  # type: ignore[attr-defined]
            user_id=user.pk, change_number__gt=cursor, change_number__lte=head
        )
        if sync_type.feed_queryset is not None:
            in_range = sync_type.feed_queryset(in_range)
        above_floor = in_range.filter(change_number__gt=floor).order_by("change_number")
        if floor > cursor:
            first_beyond = above_floor.values("pk")[: limit + 1]
            query = in_range.filter(Q(change_number__lte=floor) | Q(pk__in=first_beyond)).order_by(
                "change_number"
            )
        else:
            query = above_floor[: limit + 1]
        rows.extend((e.change_number, sync_type.name, e, False) for e in query)
    if not full and pending_tombstones:
        tombstones = ChangeRecord.objects.filter(
            user_id=user.pk, deleted=True, number__gt=cursor, number__lte=head
        ).order_by("number")[: limit + 1]
        rows.extend(
            (n, t, i, True) for n, t, i in tombstones.values_list("number", "entity_type", "entity_id")
        )
        # A prune that committed after the position was read may have removed tombstones this answer needs.
        if SyncState.objects.filter(user_id=user.pk, pruned_through__gt=cursor).exists():
            raise CursorExpired()

    rows.sort(key=lambda row: row[0])
    below = [row for row in rows if row[0] <= floor]
    beyond = [row for row in rows if row[0] > floor]
    has_more = len(beyond) > limit
    page = below + beyond[:limit]
    next_cursor = page[-1][0] if has_more else head
    return {"cursor": next_cursor, "has_more": has_more, "changes": _render(page)}


def _render(page: list[tuple[int, str, Any, bool]]) -> list[dict[str, Any]]:
    """One entry per entity, its latest in the page (a tombstone then a re-create with the same id: the
    re-create), in change order."""
    latest: dict[tuple[str, str], tuple[int, str, Any, bool]] = {}
    for row in page:
        _number, type_name, value, deleted = row
        entity_id = str(value if deleted else value.pk)
        latest[(type_name, entity_id)] = row
    changes: list[dict[str, Any]] = []
    for _number, type_name, value, deleted in sorted(latest.values(), key=lambda row: row[0]):
        if deleted:
            changes.append({"type": type_name, "id": str(value), "deleted": True})
            continue
        sync_type = registry.get(type_name)
        assert sync_type is not None
        changes.append(
            {
                "type": type_name,
                "id": str(value.pk),
                "deleted": False,
                "version": value.version,
                "data": sync_type.to_data(value),
            }
        )
    return changes
