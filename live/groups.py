"""Channel-layer group names and the messages sent to them (the consumer's handlers: live/consumers.py)."""

from __future__ import annotations

from typing import Any


def user_group(user_id: Any) -> str:
    """Every socket of one user: pokes, re-reading memberships, closing on revoked credentials."""
    return f"live.user.{user_id}"


def space_group(space_id: int) -> str:
    """Every socket of the members of one workspace (by its space): presence, typing, membership changes."""
    return f"live.space.{space_id}"


POKE = {"type": "live.poke"}
REVOKE = {"type": "live.revoke"}
MEMBERSHIP = {"type": "live.membership"}
