"""The shared cache on Redis, optional: Redis trouble degrades the service, never breaks it.

Every call goes to Redis (django-redis, with django-prometheus' hit and miss counts) under short socket
timeouts (`CACHE_SOCKET_TIMEOUT_SECONDS`). When Redis fails (refused, reset, or silent past the timeout), the
call is answered by a local-memory cache of this process instead, the failure is logged once per interval
(core/dependencies.py), and for `CACHE_RETRY_SECONDS` Redis is not tried at all; then one call probes it.
So with Redis down or hung, insights are computed (and cached per process), rate-limit counters count per
process (docs/security.md), and no request waits on Redis more than once per interval per process.
`/ready` reports the state as `checks.cache`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django_prometheus.cache.backends.redis import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from core.dependencies import CACHE

T = TypeVar("T")

# What a Redis that is down, hung or restarting raises (through django-redis or straight from redis-py).
REDIS_FAILURES: tuple[type[BaseException], ...] = (ConnectionInterrupted, RedisError, OSError)


class OptionalRedisCache(RedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self.local = LocMemCache(f"fallback-{server}", {"KEY_PREFIX": params.get("KEY_PREFIX", "")})

    def run(self, on_redis: Callable[[], T], on_local: Callable[[BaseCache], T]) -> T:
        """`on_redis()` while Redis answers; `on_local(self.local)` while it does not."""
        if CACHE.available():
            try:
                result = on_redis()
            except REDIS_FAILURES as error:
                CACHE.failed(error)
            else:
                CACHE.succeeded()
                return result
        return on_local(self.local)

    def ping(self) -> bool:
        """Whether Redis itself answers now (for /ready; never the local fallback)."""
        try:
            self.client.get_client(write=True).ping()
        except REDIS_FAILURES as error:
            CACHE.failed(error)
            return False
        CACHE.succeeded()
        return True


def _optional(name: str) -> Callable[..., Any]:
    redis_method = getattr(RedisCache, name)

    def method(self: OptionalRedisCache, *args: Any, **kwargs: Any) -> Any:
        return self.run(
            lambda: redis_method(self, *args, **kwargs),
            lambda local: getattr(local, name)(*args, **kwargs),
        )

    method.__name__ = name
    method.__doc__ = f"`{name}` on Redis, on the local fallback while Redis fails."
    return method


# Django's cache API (what the app and its libraries call). `get_or_set`, `incr_version` and the like are
# built on these.
for _name in (
    "get",
    "set",
    "add",
    "delete",
    "touch",
    "has_key",
    "incr",
    "decr",
    "get_many",
    "set_many",
    "delete_many",
    "clear",
):
    setattr(OptionalRedisCache, _name, _optional(_name))
