"""The secret of a feed's URL: 256 random bits, shown once, stored as a SHA-256."""

from __future__ import annotations

import hashlib
import re
import secrets

# The prefix makes a leaked URL recognisable (secret scanners, logs); the rest is token_urlsafe(32).
TOKEN_PREFIX = "dmc_"
TOKEN_PATTERN = re.compile(r"^dmc_[A-Za-z0-9_-]{43}$")


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    # 256 random bits: a fast hash is enough, nobody can search the token space from the hash.
    return hashlib.sha256(token.encode()).hexdigest()


def is_well_formed(token: str) -> bool:
    return TOKEN_PATTERN.match(token) is not None
