"""Tickets that open a live socket (docs/api/live.md): browsers cannot send an Authorization header on a
WebSocket, so they trade their token for a ticket first. Stored in the database, so whichever ASGI process
the socket reaches can redeem it; only its hash is kept."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class StreamTicket(models.Model):
    # SHA-256 of the ticket: a database dump holds nothing that opens a socket.
    digest = models.CharField(max_length=64, primary_key=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"stream ticket of {self.user_id}"
