from __future__ import annotations

from django.db import models

from core.models import OwnedModel
from lists.models import Item


class AntiTodoEntry(OwnedModel):
    """Something the user did that was never on a list, on a day in the user's time zone."""

    personal_only = True
    sync_type = "anti_todo"
    sync_fields = ("date", "title", "note", "item")

    date = models.DateField()
    title = models.CharField(max_length=500)
    note = models.TextField(max_length=10_000, blank=True, default="")
    # Cleared through the write path before the item is deleted (antitodo.services), so the change syncs.
    item = models.ForeignKey(Item, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta(OwnedModel.Meta):
        verbose_name_plural = "anti-todo entries"
        constraints = [models.CheckConstraint(condition=~models.Q(title=""), name="antitodo_title_not_empty")]
        indexes = [
            *OwnedModel.Meta.indexes,
            models.Index(fields=["user", "date"], name="antitodo_user_date"),
        ]

    def __str__(self) -> str:
        return self.title
