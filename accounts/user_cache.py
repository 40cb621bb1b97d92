"""The user row that authenticates a request, from the shared cache instead of the database.

Every request with an access token needs its user: the row is cached by id for `USER_CACHE_SECONDS`
(in production the cache is Redis, shared by every process). It is cached without the password hash:
only that hash's MD5 (what the token's `hash_password` claim holds anyway) is kept, and `password` is a
deferred field of the user the cache gives, loaded from the database by whatever reads it (a password
check). Tokens carry the user's `token_generation` (claim `gen`).

Whatever changes the row replaces its entry, twice: at once (so the next request of this transaction, or
of a test, reads the database) and again after commit with the row as committed (so a request that read
the old row while the change was in flight cannot put it back: a fill only `add`s, and the entry after
commit is already there). A deleted user leaves a tombstone for the same reason. Logout everywhere, a
password change or reset, deactivation and account deletion move the generation on
(`tokens_revoke`), so every token issued before is refused by every process from the commit on.

While Redis fails, the cache's local fallback is not used here: the row comes from the database, since
another process's revocation would not reach this one's memory.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, transaction
from django.db.models import F
from rest_framework_simplejwt.utils import get_md5_hash_password

from accounts.models import User
from core.cache import OptionalRedisCache

# Bounds how long an entry a failed invalidation left (Redis unreachable at that moment) can be used.
USER_CACHE_SECONDS = 60
GENERATION_CLAIM = "gen"
_GONE = "gone"
# The columns cached: all but the password hash, in this order.
_FIELDS = [f.attname for f in User._meta.concrete_fields if f.attname != "password"]


def _key(user_id: Any) -> str:
    return f"auth-user:{user_id}"


def _call(name: str, *args: Any) -> Any:
    """`cache.<name>(*args)` on the shared cache only: with the optional Redis cache failing, None (its
    local fallback would answer this process alone)."""
    backend = caches["default"]
    if isinstance(backend, OptionalRedisCache):
        shared = getattr(super(OptionalRedisCache, backend), name)
        return backend.run(lambda: shared(*args), lambda local: None)
    return getattr(backend, name)(*args)


def _entry(user_id: Any) -> tuple[Any, ...] | str:
    row = User.objects.filter(pk=user_id).values_list(*_FIELDS, "password").first()
    if row is None:
        return _GONE
    return (*row[:-1], get_md5_hash_password(row[-1]))


def _user(entry: tuple[Any, ...]) -> User:
    user = User.from_db(DEFAULT_DB_ALIAS, _FIELDS, entry[:-1])
    user.password_md5 = entry[-1]  # type: ignore[attr-defined]
    return user


def cache_read(user_id: Any) -> tuple[str, str, int]:
    """The read of the user's entry as a rate-limit operation (core.ratelimit.run_counters), for an
    authentication that counts its caller's budget in the same round trip: give its result to
    `cached_user`."""
    return (_key(user_id), "get", 0)


_UNREAD = object()


def cached_user(user_id: uuid.UUID, entry: Any = _UNREAD) -> User | None:
    """The user with this id (active or not), or None when there is none. One cache read when it is
    cached (none when the caller gives the `entry` it read with `cache_read`, None for a miss); else one
    query, and the entry is added."""
    if entry is _UNREAD:
        entry = _call("get", _key(user_id))
    if entry is None:
        entry = _entry(user_id)
        _call("add", _key(user_id), entry, USER_CACHE_SECONDS)
    if not isinstance(entry, tuple | list):
        return None
    return _user(tuple(entry))


def password_md5(user: User) -> str:
    """The MD5 of the user's password hash, as the `hash_password` claim holds it."""
    cached: str | None = getattr(user, "password_md5", None)
    return cached or get_md5_hash_password(user.password)


def user_changed(user_id: Any) -> None:
    """The user's row changed (or went): its entry is dropped now and written again after commit."""
    _call("delete", _key(user_id))

    def refresh() -> None:
        _call("set", _key(user_id), _entry(user_id), USER_CACHE_SECONDS)

    transaction.on_commit(refresh, robust=True)


def tokens_revoke(user_id: Any) -> None:
    """Every access token of the user issued until now is refused (from this transaction's commit)."""
    User.objects.filter(pk=user_id).update(token_generation=F("token_generation") + 1)
    user_changed(user_id)


def on_user_changed(sender: Any, instance: User, **kwargs: Any) -> None:
    """post_save and post_delete of User."""
    user_changed(instance.pk)
