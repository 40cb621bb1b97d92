from __future__ import annotations

from django.db import models

from core.models import OwnedModel
from lists.models import Item


class FocusCard(OwnedModel):
    """The short list of items a user means to finish on one day (a day in the user's time zone)."""

    personal_only = True
    sync_type = "focus_card"
    # `items`, the ordered ids of its entries (FocusCardItem rows), is filled by focus.sync_types.
    sync_fields = ("date", "intention", "source", "items")

    class Source(models.TextChoices):
        GENERATED = "generated", "Generated"
        MANUAL = "manual", "Manual"

    date = models.DateField()
    intention = models.CharField(max_length=500, blank=True, default="")
    source = models.CharField(max_length=9, choices=Source.choices, default=Source.MANUAL)

    class Meta(OwnedModel.Meta):
        constraints = [
            models.UniqueConstraint(fields=["user", "date"], name="focuscard_one_per_user_day"),
            models.CheckConstraint(
                condition=models.Q(source__in=["generated", "manual"]), name="focuscard_source_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"focus card {self.date}"


class FocusCardItem(models.Model):
    """One entry of a card. Deleting the item removes the entry, through the write path (focus.services)."""

    card = models.ForeignKey(FocusCard, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="focus_entries")
    position = models.PositiveSmallIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["card", "item"], name="focuscarditem_item_once"),
            models.UniqueConstraint(fields=["card", "position"], name="focuscarditem_position_once"),
        ]
        indexes = [models.Index(fields=["item"], name="focuscarditem_item")]
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.card_id}#{self.position}"


class MorningCardSchedule(models.Model):
    """When a user who asked for morning cards (`preferences.focus_auto_generate`) gets the next one: the
    instant of their local `focus_time` (focus/morning.py). Kept by the profile's writes, in their
    transaction, so the every-minute job reads only the due rows, never every user."""

    user = models.OneToOneField("accounts.User", primary_key=True, on_delete=models.CASCADE, related_name="+")
    next_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["next_at"], name="morningcard_next_at")]

    def __str__(self) -> str:
        return f"morning card of {self.user_id} at {self.next_at}"
