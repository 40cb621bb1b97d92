"""Focus cards as a sync type: `items` is the ordered list of item ids, nothing derived."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from focus import selectors, services
from focus.models import FocusCard, FocusCardItem
from focus.serializers import FocusCardSerializer, FocusCardSyncSerializer
from sync.columns import DayText, TimestampText, UUIDText
from sync.registry import FeedColumns, SyncType, on_delete, register, write_services


class FocusCardDataSerializer(serializers.ModelSerializer):
    class Meta:
        model = FocusCard
        fields = ["id", "date", "intention", "source", "version", "created_at", "updated_at"]


def card_data(card: FocusCard) -> dict[str, Any]:
    """The card's own fields; entries' titles, statuses and `done_count` are derived, so left out."""
    data = dict(FocusCardDataSerializer(card).data)
    data["items"] = [str(entry.item_id) for entry in sorted(card.entries.all(), key=lambda e: e.position)]
    return data


def _add_item_ids(cards: dict[str, dict[str, Any]]) -> None:
    """`items` of card_data for the feed's cards, in one query."""
    for data in cards.values():
        data["items"] = []
    entries = FocusCardItem.objects.filter(card_id__in=list(cards)).order_by("position")
    for card_id, item_id in entries.values_list("card_id", "item_id"):
        cards[str(card_id)]["items"].append(str(item_id))


# card_data read from the database, JSON-ready (sync.columns): the feed's hot path.
CARD_FEED_COLUMNS = FeedColumns(
    {
        "id": UUIDText("id"),
        "date": DayText("date"),
        "intention": "intention",
        "source": "source",
        "version": "version",
        "created_at": TimestampText("created_at"),
        "updated_at": TimestampText("updated_at"),
    },
    complete=_add_item_ids,
)


def card_representation(card: FocusCard) -> dict[str, Any]:
    """What `GET focus-card` answers (version, entries with titles, done_count): push results and
    conflicts show the card as the REST endpoint does, not the bare push serializer."""
    return dict(FocusCardSerializer(selectors.card_by_id(card.user_id, card.pk)).data)


def register_all() -> None:
    register(
        SyncType(
            name="focus_card",
            model=FocusCard,
            feed_queryset=lambda queryset: queryset.prefetch_related("entries"),
            serializer=FocusCardSyncSerializer,
            to_data=card_data,
            feed_columns=CARD_FEED_COLUMNS,
            represent=card_representation,
            **write_services(
                id_name="card_id",
                create=services.focus_card_create,
                update=services.focus_card_update,
                delete=services.focus_card_delete,
            ),
        )
    )
    on_delete("item", services.on_items_deleted)
