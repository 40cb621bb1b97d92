"""The sync cursor (docs/api/sync.md, "The cursor"): an opaque, versioned string holding the client's
position in each space it reads.

`c1.` then base64url (no padding) of: the positions as unsigned varints, pairs of (space id minus the
previous pair's space id, position), in space order; then the first 10 bytes of an HMAC-SHA256 of the user's
id and those bytes, keyed from SECRET_KEY. The MAC makes a cursor readable only by the user it was issued
to, and keeps a client from naming spaces it was never given (the tombstone a removed space gets would
name its workspace). A client never parses a cursor; the version prefix lets the server change the
encoding and still read the old one.

API 1.0's integer cursors are still accepted: one stands for the user's personal space at that number, with
every workspace sent whole. Absent, empty or `0` is a full sync.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.utils.crypto import salted_hmac

from core.models import User
from core.problems import validation_error
from sync.spaces import personal_space_id

PREFIX = "c1."
MAX_LENGTH = 4096
_MAX_INTEGER_DIGITS = 18  # fits a signed 64-bit change number
MAX_INTEGER_CURSOR = 10**_MAX_INTEGER_DIGITS - 1
_MAC_BYTES = 10
_SALT = "daymark.sync.cursor.v1"
_INVALID = "Not a cursor this server issued to you: send the last answer's `cursor` unchanged, or none."


@dataclass(frozen=True)
class Cursor:
    """A parsed cursor: a full sync, an API 1.0 integer, or the opaque positions (checked against the user
    when they are read, `positions_for`)."""

    integer: int = 0
    opaque: bytes | None = None

    @property
    def full(self) -> bool:
        return self.opaque is None and self.integer == 0

    def positions_for(self, user: User) -> dict[int, int]:
        """{space id: position}; a space the user sees that is not here is sent whole."""
        if self.opaque is None:
            return {personal_space_id(user): self.integer} if self.integer else {}
        payload, mac = self.opaque[:-_MAC_BYTES], self.opaque[-_MAC_BYTES:]
        if not hmac.compare_digest(mac, _mac(user, payload)):
            raise _invalid()
        return _decode_positions(payload)


FULL = Cursor()


def parse_cursor(raw: Any) -> Cursor:
    """A cursor from the query string or a JSON body: absent, an integer of API 1.0, or the opaque string."""
    if raw is None or raw == "":
        return FULL
    if isinstance(raw, bool):
        raise _invalid()
    if isinstance(raw, int):
        if not 0 <= raw <= MAX_INTEGER_CURSOR:
            raise _invalid()
        return Cursor(integer=raw)
    if not isinstance(raw, str) or len(raw) > MAX_LENGTH or not raw.isascii():
        raise _invalid()
    if raw.isdigit():
        if len(raw) > _MAX_INTEGER_DIGITS:
            raise _invalid()
        return Cursor(integer=int(raw))
    if not raw.startswith(PREFIX):
        raise _invalid()
    body = raw[len(PREFIX) :]
    try:
        opaque = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise _invalid() from None
    if len(opaque) < _MAC_BYTES or base64.urlsafe_b64encode(opaque).decode().rstrip("=") != body:
        raise _invalid()
    return Cursor(opaque=opaque)


def encode_cursor(user: User, positions: dict[int, int]) -> str:
    payload = _encode_positions(positions)
    return PREFIX + base64.urlsafe_b64encode(payload + _mac(user, payload)).decode().rstrip("=")


def _mac(user: User, payload: bytes) -> bytes:
    key = salted_hmac(_SALT, str(user.pk), secret=settings.SECRET_KEY, algorithm="sha256").digest()
    return hmac.new(key, payload, hashlib.sha256).digest()[:_MAC_BYTES]


def _invalid() -> Exception:
    return validation_error({"cursor": [_INVALID]})


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _encode_positions(positions: dict[int, int]) -> bytes:
    out = bytearray()
    previous = 0
    for space_id in sorted(positions):
        out += _varint(space_id - previous) + _varint(positions[space_id])
        previous = space_id
    return bytes(out)


def _decode_positions(payload: bytes) -> dict[int, int]:
    values: list[int] = []
    value = shift = 0
    for byte in payload:
        value |= (byte & 0x7F) << shift
        shift += 7
        if not byte & 0x80:
            values.append(value)
            value = shift = 0
    if shift or len(values) % 2:
        raise _invalid()  # a MAC over a payload we wrote cannot get here; kept for safety
    positions: dict[int, int] = {}
    space_id = 0
    for delta, position in zip(values[::2], values[1::2], strict=True):
        space_id += delta
        positions[space_id] = position
    return positions
