from __future__ import annotations

from datetime import date
from typing import Any
from uuid import UUID

from django.db.models import Prefetch, QuerySet

from focus.models import FocusCard, FocusCardItem


def cards_with_entries(user: Any) -> QuerySet[FocusCard]:
    """The user's cards with their entries and the entries' items: two queries for any number of cards."""
    entries = FocusCardItem.objects.select_related("item").order_by("position")
    return FocusCard.objects.for_user(user).prefetch_related(Prefetch("entries", queryset=entries))


def card_of_day(user: Any, day: date) -> FocusCard | None:
    return cards_with_entries(user).filter(date=day).first()


def card_by_id(user: Any, card_id: UUID) -> FocusCard:
    return cards_with_entries(user).get(pk=card_id)


def cards_between(user: Any, first: date, last: date) -> list[FocusCard]:
    return list(cards_with_entries(user).filter(date__gte=first, date__lte=last).order_by("date"))
