"""The sync cursor (docs/api/sync.md, "The cursor"): an opaque, versioned string holding the client's
position in each space it reads.

`c2.` then base64url (no padding) of: the positions as unsigned varints, pairs of (space id minus the
previous pair's space id, position times 2 plus 1 when the space is partly read), in space order; then the
first 10 bytes of an HMAC-SHA256 of the user's id, the version and those bytes, keyed from SECRET_KEY
(or one of SECRET_KEY_FALLBACKS). A space is partly read when the last page stopped inside it: the client
may hold an item of it without the list the item is in (that list changed later, so it comes later), and
cannot tell that item belongs to the workspace should it lose access then (sync.feed). `c1.` (the same
without the partly read bit and the version in the MAC) is still read.

The MAC makes a cursor readable only by the user it was issued to, and keeps a client from naming spaces
it was never given (the tombstone a removed space gets would name its workspace). A client never parses a
cursor; the version prefix lets the server change the encoding and still read the old one.

API 1.0's integer cursors are still accepted: one stands for the user's personal space at that number, with
every workspace sent whole. Absent, empty or `0` is a full sync.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from typing import Any, NamedTuple

from django.conf import settings
from django.utils.crypto import salted_hmac

from core.models import User
from core.problems import validation_error
from sync.spaces import personal_space_id

PREFIX = "c2."
_VERSIONS = {"c1.": 1, "c2.": 2}
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
    version: int = 2

    @property
    def full(self) -> bool:
        return self.opaque is None and self.integer == 0

    def positions_for(self, user: User) -> dict[int, int]:
        """{space id: position}; a space the user sees that is not here is sent whole."""
        return self.spaces_for(user).positions

    def spaces_for(self, user: User) -> Positions:
        if self.opaque is None:
            positions = {personal_space_id(user): self.integer} if self.integer else {}
            return Positions(positions, frozenset())
        payload, mac = self.opaque[:-_MAC_BYTES], self.opaque[-_MAC_BYTES:]
        # A cursor issued before the secret key was rotated (the old one kept in SECRET_KEY_FALLBACKS)
        # stays valid, like sessions and signed values: a rotation must not send every client to 400.
        secrets = [settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS]
        if not any(hmac.compare_digest(mac, _mac(user, payload, secret, self.version)) for secret in secrets):
            raise _invalid()
        return _decode_positions(payload, self.version)


class Positions(NamedTuple):
    """What a cursor holds: {space id: position}, and the spaces the last page stopped inside."""

    positions: dict[int, int]
    partial: frozenset[int]


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
    version = _VERSIONS.get(raw[:3])
    if version is None:
        raise _invalid()
    body = raw[3:]
    try:
        opaque = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    except (binascii.Error, ValueError):
        raise _invalid() from None
    if len(opaque) < _MAC_BYTES or base64.urlsafe_b64encode(opaque).decode().rstrip("=") != body:
        raise _invalid()
    return Cursor(opaque=opaque, version=version)


def encode_cursor(user: User, positions: dict[int, int], partial: frozenset[int] = frozenset()) -> str:
    payload = _encode_positions({s: p * 2 + (s in partial) for s, p in positions.items()})
    mac = _mac(user, payload, settings.SECRET_KEY, 2)
    return PREFIX + base64.urlsafe_b64encode(payload + mac).decode().rstrip("=")


def _mac(user: User, payload: bytes, secret: str, version: int) -> bytes:
    key = salted_hmac(_SALT, str(user.pk), secret=secret, algorithm="sha256").digest()
    # From c2 on the version is signed too, so a payload cannot be read under another version's layout.
    signed = payload if version == 1 else bytes([version]) + payload
    return hmac.new(key, signed, hashlib.sha256).digest()[:_MAC_BYTES]


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


def _decode_positions(payload: bytes, version: int) -> Positions:
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
    partial: set[int] = set()
    space_id = 0
    for delta, value in zip(values[::2], values[1::2], strict=True):
        space_id += delta
        if version == 1:
            positions[space_id] = value
            continue
        positions[space_id] = value >> 1
        if value & 1:
            partial.add(space_id)
    return Positions(positions, frozenset(partial))
