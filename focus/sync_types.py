"""Focus cards as a sync type: `items` is the ordered list of item ids, nothing derived."""

from __future__ import annotations

from typing import Any

from focus import services
from focus.models import FocusCard, FocusCardItem
from focus.serializers import FocusCardSyncSerializer, card_representation
from lists.services import on_items_moved
from sync.fields import entity_data
from sync.registry import FeedColumns, SyncType, on_delete, on_holder_spaces, register, write_services
from workspaces.registry import on_member_removed


def card_data(card: FocusCard) -> dict[str, Any]:
    """The card's own fields; entries' titles, statuses and `done_count` are derived, so left out."""
    data = entity_data(card)
    data["items"] = [str(entry.item_id) for entry in sorted(card.entries.all(), key=lambda e: e.position)]
    return data


def _add_item_ids(cards: dict[str, dict[str, Any]]) -> None:
    """`items` of card_data for the feed's cards, in one query."""
    for data in cards.values():
        data["items"] = []
    entries = FocusCardItem.objects.filter(card_id__in=list(cards)).order_by("position")
    for card_id, item_id in entries.values_list("card_id", "item_id"):
        cards[str(card_id)]["items"].append(str(item_id))


def register_all() -> None:
    register(
        SyncType(
            model=FocusCard,
            serializer=FocusCardSyncSerializer,
            represent=card_representation,
            to_data=card_data,
            feed_queryset=lambda queryset: queryset.prefetch_related("entries"),
            feed_columns=FeedColumns.of(FocusCard, complete=_add_item_ids),
            export_section="focus_cards",
            other_references={"items": "item"},
            **write_services(
                id_name="card_id",
                create=services.focus_card_create,
                update=services.focus_card_update,
                delete=services.focus_card_delete,
            ),
        )
    )
    on_delete("item", services.on_items_deleted)
    on_holder_spaces("item", services.card_spaces_holding)
    on_items_moved(services.on_items_moved)
    # A member who leaves a workspace (or is removed) no longer plans its items.
    on_member_removed(services.cards_drop_unseen_items)
