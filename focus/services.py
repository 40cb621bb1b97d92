"""Writes of focus cards: manual cards, edits, generation, and what an item's deletion does to a card.

Every write goes through `sync.services.change_writer`; a card's `items` field is its ordered item ids, so
replacing, reordering or losing entries is a change of `items` with a new version and a change record.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any
from uuid import UUID

from django.db import IntegrityError
from django.db.models import Case, F, IntegerField, Q, QuerySet, Value, When

from accounts.models import Profile
from accounts.profile_services import preferences_of
from core.models import User
from core.problems import IdConflict, PreconditionFailed, ProblemError, VersionRequired, validation_error
from core.versioning import BaseVersion
from focus.models import FocusCard, FocusCardItem
from lists.models import Item
from lists.services import space_user_ids
from sync.services import ChangeWriter, change_writer, versioned_delete, versioned_update
from sync.spaces import personal_space_id, visible_heads

MAX_CARD_ITEMS = 50
DEFAULT_SIZE = 3


class FocusCardNotFound(ProblemError):
    status_code = 404
    code = "focus_card_not_found"
    title = "Focus card not found"
    default_detail = "There is no focus card for this date."


# --- reading what a card holds ------------------------------------------------------------------------------


def card_item_ids(card: FocusCard) -> list[UUID]:
    return list(
        FocusCardItem.objects.filter(card=card).order_by("position").values_list("item_id", flat=True)
    )


def _owned_item_ids(user: User, item_ids: Sequence[UUID]) -> list[UUID]:
    """The ids, checked: each once, each one of the user's items. A 400 that does not say which exist."""
    if len(set(item_ids)) != len(item_ids):
        raise validation_error({"items": ["Each item may appear once."]})
    if len(item_ids) > MAX_CARD_ITEMS:
        raise validation_error({"items": [f"At most {MAX_CARD_ITEMS} items."]})
    found = set(Item.objects.for_user(user).filter(pk__in=item_ids).values_list("pk", flat=True))
    if len(found) != len(item_ids):
        raise validation_error({"items": ["No such item."]})
    return list(item_ids)


def _lock_with_item_spaces(writer: ChangeWriter, user: User, items: QuerySet[Item]) -> None:
    """The user's personal space and the spaces of these items (those the user sees), locked together in
    id order before the items are checked: an item that moves out of the user's sight, or a removal from
    its workspace, then either commits first (and the check refuses it) or waits for this write (and then
    drops the entry from the card). Checked without its space's lock, a card could keep an item its owner
    no longer sees, and show its live title."""
    seen = items.filter(space__in=visible_heads(user))  # one query, with the user's spaces as a subquery
    writer.lock(writer.personal_space_id, *seen.values_list("space_id", flat=True).distinct())


def _set_entries(card: FocusCard, item_ids: Sequence[UUID]) -> None:
    FocusCardItem.objects.filter(card=card).delete()
    FocusCardItem.objects.bulk_create(
        [FocusCardItem(card=card, item_id=item_id, position=n) for n, item_id in enumerate(item_ids)]
    )


def _card_changes(card: FocusCard, current_items: list[UUID], data: dict[str, Any]) -> dict[str, Any]:
    changes = {k: v for k, v in data.items() if k != "items" and getattr(card, k) != v}
    if "items" in data and list(data["items"]) != current_items:
        changes["items"] = list(data["items"])
    return changes


def _apply(writer: ChangeWriter, card: FocusCard, base: BaseVersion, changes: dict[str, Any]) -> bool:
    merged = versioned_update(writer, card, base, changes)
    if "items" in changes:
        _set_entries(card, changes["items"])
    return merged


def _create(
    writer: ChangeWriter,
    *,
    day: date,
    intention: str,
    source: str,
    item_ids: list[UUID],
    card_id: UUID | None,
) -> FocusCard:
    card = FocusCard(date=day, intention=intention, source=source)
    if card_id is not None:
        card.id = card_id
    writer.save(card, created=True)
    _set_entries(card, item_ids)
    return card


def _card_for_day(user: User, day: date) -> FocusCard | None:
    return FocusCard.objects.for_user(user).filter(date=day).first()


def _check_new_id(user: User, card_id: UUID | None, day: date) -> None:
    if card_id is not None and FocusCard.objects.filter(pk=card_id).exclude(user=user, date=day).exists():
        raise IdConflict()


# --- manual cards -------------------------------------------------------------------------------------------


def focus_card_put(
    *, user: User, day: date, base: BaseVersion | None, data: dict[str, Any], card_id: UUID | None = None
) -> tuple[FocusCard, bool]:
    """Creates the manual card of `day`, or replaces the existing one (which needs a base version).
    Returns the card and whether it was created."""
    try:
        return _put(user=user, day=day, base=base, data=data, card_id=card_id)
    except IntegrityError:
        # Another request created the day's card between our check and insert: replace that one.
        return _put(user=user, day=day, base=base, data=data, card_id=card_id)


def _put(
    *, user: User, day: date, base: BaseVersion | None, data: dict[str, Any], card_id: UUID | None
) -> tuple[FocusCard, bool]:
    with change_writer(user, personal=False) as writer:
        _lock_with_item_spaces(writer, user, Item.objects.filter(pk__in=data.get("items", [])))
        item_ids = _owned_item_ids(user, data.get("items", []))
        intention = data.get("intention", "")
        card = _card_for_day(user, day)
        if card is None:
            if base is not None and base.strict:
                raise PreconditionFailed("There is no card for this date to match If-Match against.")
            _check_new_id(user, card_id, day)
            card = _create(
                writer,
                day=day,
                intention=intention,
                source=FocusCard.Source.MANUAL,
                item_ids=item_ids,
                card_id=card_id,
            )
            return card, True
        if base is None:
            raise VersionRequired()
        if card_id is not None and card_id != card.pk:
            raise IdConflict("This date already has a card with another id.")
        whole = {"intention": intention, "source": FocusCard.Source.MANUAL, "items": item_ids}
        _apply(writer, card, base, _card_changes(card, card_item_ids(card), whole))
    return card, False


def focus_card_update(
    *,
    user: User,
    base: BaseVersion,
    data: dict[str, Any],
    day: date | None = None,
    card_id: UUID | None = None,
) -> tuple[FocusCard, bool]:
    """PATCH of `intention` and `items` (their order, or which they are), found by day or id. Returns the
    card and whether the write merged over a stale base."""
    with change_writer(user, personal=False) as writer:
        _lock_with_item_spaces(writer, user, Item.objects.filter(pk__in=data.get("items") or []))
        cards = FocusCard.objects.for_user(user)
        card = cards.filter(date=day).first() if day is not None else cards.filter(pk=card_id).first()
        if card is None:
            raise FocusCardNotFound()
        if "date" in data and data["date"] != card.date:
            raise validation_error({"date": ["A card's date cannot be changed."]})
        data = {k: v for k, v in data.items() if k in ("intention", "items", "source")}
        if "items" in data:
            data["items"] = _owned_item_ids(user, data["items"])
        merged = _apply(writer, card, base, _card_changes(card, card_item_ids(card), data))
    return card, merged


def focus_card_create(
    *, user: User, data: dict[str, Any], card_id: UUID | None = None
) -> tuple[FocusCard, bool]:
    """A card pushed by sync: a retried create with the same content answers the existing card."""
    day = data["date"]
    with change_writer(user, personal=False) as writer:
        _lock_with_item_spaces(writer, user, Item.objects.filter(pk__in=data.get("items", [])))
        item_ids = _owned_item_ids(user, data.get("items", []))
        existing = FocusCard.objects.filter(pk=card_id).first() if card_id is not None else None
        if existing is not None:
            same = (
                existing.user_id == user.pk
                and existing.date == day
                and existing.intention == data.get("intention", "")
                and card_item_ids(existing) == item_ids
            )
            if not same:
                raise IdConflict()
            return existing, False
        if _card_for_day(user, day) is not None:
            raise IdConflict("This date already has a card with another id.")
        source = data.get("source", FocusCard.Source.MANUAL)
        card = _create(
            writer,
            day=day,
            intention=data.get("intention", ""),
            source=source,
            item_ids=item_ids,
            card_id=card_id,
        )
    return card, True


def focus_card_delete(*, user: User, card_id: UUID, base: BaseVersion) -> None:
    with change_writer(user) as writer:
        card = FocusCard.objects.for_user(user).filter(pk=card_id).first()
        if card is None:
            raise FocusCardNotFound()
        versioned_delete(writer, card, base)


# --- generation ---------------------------------------------------------------------------------------------


def generation_order(day: date) -> list[Any]:
    """The score of docs/focus.md: overdue, then due on `day`, then priority (1 first), then the earliest
    due date (undated last), then the oldest, then the id, so the pick is deterministic."""
    bucket = Case(
        When(due_date__lt=day, then=Value(0)),
        When(due_date=day, then=Value(1)),
        default=Value(2),
        output_field=IntegerField(),
    )
    return [bucket, "priority", F("due_date").asc(nulls_last=True), "created_at", "id"]


def pick_items(user: User, day: date, size: int, exclude: Sequence[UUID] = ()) -> list[UUID]:
    """One query: the `size` best open items for `day` of the user's non-archived lists, and of the
    workspaces' lists those assigned to the user (a team's other work is not theirs to plan)."""
    if size <= 0:
        return []
    candidates = Item.objects.for_user(user).filter(
        Q(space_id=personal_space_id(user)) | Q(assignee_id=user.pk),
        status=Item.Status.OPEN,
        list__archived=False,
    )
    if exclude:
        candidates = candidates.exclude(pk__in=exclude)
    return list(candidates.order_by(*generation_order(day)).values_list("pk", flat=True)[:size])


def default_size(user: User) -> int:
    return int(preferences_of(Profile.objects.filter(user=user).first())["focus_size"])


def focus_card_generate(
    *, user: User, day: date, size: int | None = None, regenerate: bool = False
) -> tuple[FocusCard, bool]:
    """The day's generated card. An existing card is returned as it is, unless `regenerate`: then its done
    items stay (in their order) and the open ones are picked again up to `size`. Returns the card and
    whether it was created. Safe to run concurrently: one card per user and day."""
    size = default_size(user) if size is None else size
    try:
        return _generate(user=user, day=day, size=size, regenerate=regenerate)
    except IntegrityError:
        # Lost a race for the (user, date) slot: the winner's card is the day's card.
        card = _card_for_day(user, day)
        if card is None:
            raise
        return card, False


def _generate(*, user: User, day: date, size: int, regenerate: bool) -> tuple[FocusCard, bool]:
    with change_writer(user, personal=False) as writer:
        # The workspaces' items it may pick are the open ones assigned to the user.
        assigned = Item.objects.filter(assignee_id=user.pk, status=Item.Status.OPEN)
        _lock_with_item_spaces(writer, user, assigned.exclude(space_id=personal_space_id(user)))
        card = _card_for_day(user, day)
        if card is None:
            item_ids = pick_items(user, day, size)
            return (
                _create(
                    writer,
                    day=day,
                    intention="",
                    source=FocusCard.Source.GENERATED,
                    item_ids=item_ids,
                    card_id=None,
                ),
                True,
            )
        if not regenerate:
            return card, False
        kept = list(
            FocusCardItem.objects.filter(card=card, item__status=Item.Status.DONE)
            .order_by("position")
            .values_list("item_id", flat=True)
        )
        item_ids = kept + pick_items(user, day, size - len(kept), exclude=kept)
        changes = _card_changes(
            card, card_item_ids(card), {"items": item_ids, "source": FocusCard.Source.GENERATED}
        )
        # The server's own pick over the latest card: there is no client base version to check.
        _apply(writer, card, BaseVersion(version=card.version), changes)
    return card, False


# --- an item's deletion -------------------------------------------------------------------------------------


def _drop_entries(writer: ChangeWriter, cards: QuerySet[FocusCard], item_ids: list[UUID]) -> None:
    """Each card loses its entries of these items, as a new version of `items`. The cards' personal
    spaces are locked together (in id order), after the space the write began in."""
    found = list(cards.filter(entries__item_id__in=item_ids).distinct())
    writer.lock(*{card.space_id for card in found})
    gone = set(item_ids)
    for card in found:
        remaining = [item_id for item_id in card_item_ids(card) if item_id not in gone]
        writer.save(card, ["items"])
        _set_entries(card, remaining)


def card_spaces_holding(item_ids: Collection[UUID]) -> list[int]:
    """The personal spaces of the cards holding any of these items: what deleting or moving them changes,
    locked by the write before its own spaces' reads (sync.registry.on_holder_spaces)."""
    return list(
        FocusCard.objects.filter(entries__item_id__in=item_ids).values_list("space_id", flat=True).distinct()
    )


def on_items_deleted(writer: ChangeWriter, item_ids: list[UUID]) -> None:
    """Before items are deleted: every card holding some (its owner's, or a workspace member's) loses
    those entries."""
    _drop_entries(writer, FocusCard.objects.all(), item_ids)


def on_items_moved(writer: ChangeWriter, item_ids: list[UUID], to_space_id: int) -> None:
    """Items moved to a space a card's owner cannot see leave that card (docs/api/workspaces.md)."""
    _drop_entries(writer, FocusCard.objects.exclude(user_id__in=space_user_ids(to_space_id)), item_ids)


def cards_drop_unseen_items(writer: ChangeWriter, space_id: int, user_id: UUID) -> None:
    """A member leaves a workspace (or is removed): their cards lose the entries of its items."""
    cards = FocusCard.objects.filter(space__user_id=user_id)
    item_ids = list(
        FocusCardItem.objects.filter(card__in=cards, item__space_id=space_id).values_list(
            "item_id", flat=True
        )
    )
    if item_ids:
        _drop_entries(writer, cards, item_ids)
