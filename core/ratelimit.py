"""Rate limits (docs/api/limits.md): fixed-window counters in the shared cache.

Every request spends one unit of the default budget: per API key (an admin key gets `rate_limit_multiplier`
times more), else per user, else per client IP. Views add their own budgets in `rate_limits` (the auth
endpoints: per IP). Some budgets are spent only by failures and read before the attempt (failed
authentications per IP, failed logins per email: `accounts/login_limits.py`).

Counters live in the cache, so every process behind the load balancer spends from the same budget. On
Redis, all the counters a request touches are counted and read in one round trip (a Lua script: `INCR`, and
`EXPIRE` on a window's first unit); any other cache (local memory in development) uses `add` + `incr`.
Windows are fixed and staggered per key, so they do not all reset at once.

We dropped django-ratelimit: its public `get_usage` costs two Redis round trips per budget (`SET NX`, then
an increment) and cannot read or count several budgets at once, and everything else we used from it was
private. See docs/security.md.

Answers carry `RateLimit-Policy` and `RateLimit` in the syntax of the IETF httpapi ratelimit-headers draft;
a refused request is a 429 `rate_limited` problem with `Retry-After` (seconds).
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from core.authentication import authenticated, view_class

logger = logging.getLogger("daymark.ratelimit")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
# Counters outlive their window by a few seconds, so a late request of the window never finds it gone.
_EXPIRY_MARGIN = 5


# --- The client's address ---------------------------------------------------------------------------------


# In TRUSTED_PROXIES: the peer on a Unix socket (gunicorn bound to `unix:/run/daymark.sock`, which gives no
# REMOTE_ADDR) is the proxy in front.
UNIX_SOCKET_PEER = "unix"


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    entries = [cidr.strip() for cidr in cidrs]
    return tuple(
        ipaddress.ip_network(cidr, strict=False) for cidr in entries if cidr not in ("", UNIX_SOCKET_PEER)
    )


def _parse_ip(value: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(value.strip())
    except ValueError:
        return None
    # A dual-stack socket shows an IPv4 peer as ::ffff:a.b.c.d: the same client, and the same proxy.
    mapped = address.ipv4_mapped if isinstance(address, ipaddress.IPv6Address) else None
    return mapped or address


def _is_trusted_proxy(address: IPAddress | None) -> bool:
    """Whether the peer is a proxy whose X-Forwarded-For we believe; None is a peer with no IP address."""
    if address is None:
        return UNIX_SOCKET_PEER in (entry.strip() for entry in settings.TRUSTED_PROXIES)
    return any(address in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request: HttpRequest) -> str:
    """The caller's IP: REMOTE_ADDR, unless that peer is a trusted proxy; then the nearest address in
    X-Forwarded-For that is not a trusted proxy (read right to left, so a client cannot forge it). "" when
    there is none (a Unix-socket peer that is not trusted)."""
    address = _parse_ip(request.META.get("REMOTE_ADDR", "") or "")
    if _is_trusted_proxy(address):
        hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        for hop in reversed(hops):
            forwarded = _parse_ip(hop)
            if forwarded is None:
                break
            address = forwarded
            if not _is_trusted_proxy(forwarded):
                break
    return str(address) if address is not None else ""


def client_ip_key(request: HttpRequest) -> str:
    """The rate-limit identity of an address: an IPv6 client owns at least a /64, so it counts as one."""
    address = _parse_ip(client_ip(request))
    if isinstance(address, ipaddress.IPv6Address):
        return "ip:" + str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return f"ip:{address}"


# --- Budgets ----------------------------------------------------------------------------------------------


def parse_rate(rate: str) -> tuple[int, int]:
    """`600/m`, `5/h`, `10/30s` -> (requests, seconds)."""
    count, _, period = rate.strip().partition("/")
    unit = period[-1:].lower() if period else "s"
    multiple = period[:-1] if period[-1:].isalpha() else period
    if unit not in _PERIODS or not count.isdigit() or (multiple and not multiple.isdigit()):
        raise ValueError(f"Not a rate: {rate!r} (expected e.g. 600/m)")
    return int(count), _PERIODS[unit] * int(multiple or 1)


@dataclass(frozen=True)
class Budget:
    """One limit: `name` is the policy name in the headers, `setting` holds the rate (`600/m`), `key`
    names whose budget a request spends (None: this budget does not apply to the request)."""

    name: str
    setting: str
    key: Callable[[Request], str | None] = lambda request: None


@dataclass(frozen=True)
class Usage:
    """A budget as one request found it. `refused`: spent, it went over the limit; read, it had no room
    left for another unit. `key` is its counter in the window counted (for `refund`)."""

    name: str
    limit: int
    window: int
    count: int
    reset: int
    refused: bool
    key: str = ""

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)

    @property
    def first_refusal(self) -> bool:
        """The first request of its window this budget refused (for logs and audit: once per window)."""
        return self.count == self.limit + 1


@dataclass(frozen=True)
class Count:
    """One counter of a request: spend one unit of `budget` for `value`, or (`spend=False`) only read it."""

    budget: Budget
    value: str
    spend: bool = True
    multiplier: int = 1


def window_end(value: str, window: int, now: int) -> int:
    """The end of the window of `value` that holds the second `now`, staggered by a hash of `value`."""
    if window == 1:
        return now
    end = now - now % window + zlib.crc32(value.encode()) % window
    return end if end >= now else end + window


def flag_key(name: str, value: str) -> str:
    """The cache key of `name` for `value`. Hashed: values hold emails and addresses, which a look at Redis
    should not show."""
    return f"{name}:{hashlib.sha256(value.encode()).hexdigest()[:32]}"


def _counter_key(name: str, value: str, window: int, ends: int) -> str:
    return f"rl:{flag_key(name, value)}:{window}:{ends}"


# ARGV holds one mode and one TTL per key: `spend` counts one unit (and starts the key's expiry on its
# first), `refund` gives one back (to a counter that still exists: its expiry stays), `read` only reads,
# `mark` sets the key to 1 for TTL seconds (a flag, read like a counter), `get` reads a cache entry (as
# stored, "" when there is none: a script's answer cannot hold a nil) for the caller to decode.
_SCRIPT = """
local counts = {}
for i, key in ipairs(KEYS) do
  local mode, ttl = ARGV[2 * i - 1], tonumber(ARGV[2 * i])
  if mode == 'spend' then
    counts[i] = redis.call('INCR', key)
    if counts[i] == 1 then redis.call('EXPIRE', key, ttl) end
  elseif mode == 'refund' then
    counts[i] = redis.call('EXISTS', key) == 1 and redis.call('DECR', key) or 0
  elseif mode == 'mark' then
    redis.call('SET', key, 1, 'EX', ttl)
    counts[i] = 1
  elseif mode == 'get' then
    counts[i] = redis.call('GET', key) or ''
  else
    counts[i] = tonumber(redis.call('GET', key) or '0')
  end
end
return counts
"""

Operation = tuple[str, str, int]  # (key, mode, ttl)


@lru_cache(maxsize=4)
def _redis_script(client: Any) -> Any:
    return client.register_script(_SCRIPT)


def run_counters(operations: Sequence[Operation]) -> list[Any]:
    """Performs `operations` on the shared cache: in one round trip on django-redis; in the process's local
    memory while Redis fails (core/cache.OptionalRedisCache.run: limits then hold per process). Counters
    answer their count; a `get` answers the entry, None when there is none (and always while Redis fails:
    the local fallback holds this process's entries only, never what another process shares)."""
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    if get_client is None:
        return _run_counters_on(cache, operations, shared=True)

    def on_redis() -> list[Any]:
        script = _redis_script(get_client(write=True))
        keys = [cache.client.make_key(key) for key, _, _ in operations]  # type: ignore[attr-defined]
        args = [part for _, mode, ttl in operations for part in (mode, ttl)]
        found = script(keys=keys, args=args)
        return [_decoded(mode, value) for (_, mode, _), value in zip(operations, found, strict=True)]

    run = getattr(cache, "run", None)
    if run is None:
        return on_redis()
    return list(run(on_redis, lambda local: _run_counters_on(local, operations, shared=False)))


def _decoded(mode: str, value: Any) -> Any:
    if mode != "get":
        return int(value)
    if not value:
        return None
    try:
        return cache.client.decode(value)  # type: ignore[attr-defined]
    except Exception:  # written under another serializer: a miss (raising would lose the counts just made)
        logger.warning("Undecodable cache entry read with the rate limit; taken as a miss")
        return None


def _run_counters_on(store: Any, operations: Sequence[Operation], *, shared: bool) -> list[Any]:
    counts: list[Any] = []
    for key, mode, ttl in operations:
        if mode == "get":
            counts.append(store.get(key) if shared else None)
        elif mode == "mark":
            store.set(key, 1, ttl)
            counts.append(1)
        elif mode == "read":
            counts.append(int(store.get(key, 0)))
        elif mode == "refund":
            try:
                counts.append(int(store.decr(key)))
            except ValueError:  # expired meanwhile: nothing to give back
                counts.append(0)
        elif store.add(key, 1, ttl):  # an atomic add, then an atomic incr
            counts.append(1)
        else:
            counts.append(int(store.incr(key)))
    return counts


def count(counts: Sequence[Count], extra: Sequence[Operation] = ()) -> tuple[list[Usage], list[Any]] | None:
    """Spends and reads `counts` (and the `extra` operations, whose results are the second member) in one
    round trip. None when rate limits are off or the cache is down (the error is logged: serving
    uncounted beats failing every request)."""
    if not settings.RATE_LIMIT_ENABLE:
        return None
    now = int(time.time())
    plans = []
    for item in counts:
        limit, window = parse_rate(getattr(settings, item.budget.setting))
        ends = window_end(item.value, window, now)
        key = _counter_key(item.budget.name, item.value, window, ends)
        mode = "spend" if item.spend else "read"
        plans.append((item, limit * item.multiplier, window, ends, (key, mode, window + _EXPIRY_MARGIN)))
    try:
        results = run_counters([plan[-1] for plan in plans] + list(extra))
    except Exception:
        logger.exception("Rate-limit cache unavailable; request not counted")
        return None
    usages = [
        Usage(
            name=item.budget.name,
            limit=limit,
            window=window,
            count=found,
            reset=max(0, ends - now),
            refused=found > limit if item.spend else found >= limit,
            key=key,
        )
        for (item, limit, window, ends, (key, _, _)), found in zip(plans, results, strict=False)
    ]
    return usages, results[len(plans) :]


def refund(usages: Sequence[Usage]) -> list[Usage]:
    """Gives back the unit each of `usages` spent, in the window it was spent in (a unit taken before an
    attempt whose outcome decides whether it counts); returns the budgets as they are then."""
    counted = count([], extra=[(usage.key, "refund", 0) for usage in usages if usage.key])
    if counted is None:
        return list(usages)
    found = iter(counted[1])
    return [
        replace(usage, count=(now := next(found)), refused=now > usage.limit) if usage.key else usage
        for usage in usages
    ]


def note_usages(request: HttpRequest, usages: Sequence[Usage]) -> None:
    """Keeps `usages` on the request for the RateLimit headers of its answer (a later usage of a budget
    replaces an earlier one)."""
    names = {usage.name for usage in usages}
    kept = [usage for usage in getattr(request, "rate_limit_usages", []) if usage.name not in names]
    request.rate_limit_usages = [*kept, *usages]  # type: ignore[attr-defined]


def retry_after(usages: Sequence[Usage]) -> int | None:
    """Seconds until every refusing budget has room again; None when none refuses."""
    refused = [usage.reset for usage in usages if usage.refused]
    return max(1, *refused) if refused else None


def user_key(user_id: Any) -> str:
    """Whose default budget a request authenticated as this user (not by an API key) spends."""
    return f"user:{user_id}"


def _default_key(request: Request) -> str:
    key_id = getattr(request.auth, "rate_limit_key", None)
    if key_id:
        return f"key:{key_id}"
    user = request.user
    if user is not None and getattr(user, "is_authenticated", False):
        return user_key(user.pk)
    return client_ip_key(request._request)


DEFAULT_BUDGET = Budget("default", "RATE_LIMIT_DEFAULT", _default_key)


def ip_budget(name: str, setting: str) -> Budget:
    return Budget(name, setting, lambda request: client_ip_key(request._request))


def spend_budgets(
    request: Request, budgets: Sequence[Budget], on_refused: Callable[[Request, Usage], None] | None = None
) -> int | None:
    """Spends one unit of the default budget and of every one of `budgets` that applies to `request`, in one
    round trip, and keeps the usages for the headers. Returns None when all still have room, else the
    seconds to wait; `on_refused(request, usage)` is called on a budget's first refusal in its window (the
    audit log uses it)."""
    multiplier = int(getattr(request.auth, "rate_limit_multiplier", 1) or 1)
    value = _default_key(request)
    prespent: tuple[str, list[Usage]] | None = request._request.__dict__.pop(_PRESPENT, None)
    if prespent is not None and prespent[0] == value and not budgets and multiplier == 1:
        usages = prespent[1]
    else:
        if prespent is not None:  # spent for a caller this request did not turn out to be
            refund(prespent[1])
        counts = [Count(DEFAULT_BUDGET, value, multiplier=multiplier)]
        counts += [Count(b, key) for b in budgets if (key := b.key(request)) is not None]
        counted = count(counts)
        if counted is None:
            return None
        usages = counted[0]
    note_usages(request._request, usages)
    if on_refused is not None:
        for usage in usages:
            if usage.first_refusal:
                on_refused(request, usage)
    return retry_after(usages)


class RateLimitThrottle(BaseThrottle):
    """Spends one unit of every budget that applies, as the caller the view authenticated; refuses when
    any is exhausted. A view may define `rate_limits: Sequence[Budget]` and `on_rate_limited(request,
    usage)` (a static method, see `spend_budgets`)."""

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        self._wait = spend_budgets(
            request, getattr(view, "rate_limits", ()), getattr(view, "on_rate_limited", None)
        )
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


def _rate_limited(view: Any) -> bool:
    """Whether a DRF view (or its class) spends budgets here: its throttles include ours."""
    return any(issubclass(throttle, RateLimitThrottle) for throttle in view.throttle_classes)


# Where `spend_in_advance` keeps what it spent on the Django request, for the view's throttle.
_PRESPENT = "_rate_limit_prespent"


def spend_in_advance(request: Request, value: str, extra: Sequence[Operation]) -> list[Any] | None:
    """For the authentication of a request whose view spends the default budget alone: spends that budget
    for `value` (the caller the authentication is about to return) in the same round trip as the `extra`
    operations it needs (its read of the cached user), so that the throttle, when it runs, spends nothing
    more. Returns the results of `extra`; None when this request is not such a request or nothing was
    counted (limits off, cache down), and the caller reads what it needs itself. A caller that then refuses
    the credentials gives the unit back (`refund_in_advance`)."""
    view: Any = (request.parser_context or {}).get("view")
    if view is None:
        return None
    own_budgets: Sequence[Budget] = getattr(view, "rate_limits", ())
    if own_budgets or not _rate_limited(view):
        return None
    counted = count([Count(DEFAULT_BUDGET, value)], extra)
    if counted is None:
        return None
    request._request.__dict__[_PRESPENT] = (value, counted[0])
    return counted[1]


def refund_in_advance(request: Request) -> None:
    """Gives back what `spend_in_advance` spent for this request (its credentials were refused: a revoked
    token must not spend its user's budget)."""
    prespent = request._request.__dict__.pop(_PRESPENT, None)
    if prespent is not None:
        refund(prespent[1])


def throttle_before_view(request: HttpRequest) -> int | None:
    """For an answer given before the view runs (the idempotency layer's replay, 409 and 422): spends the
    budgets the view's throttle would spend, so such answers cost what the request costs. The caller is the
    one the view authenticates: the authenticators keep their outcome on the request, so they do not run
    twice. Returns the seconds to wait when a budget is exhausted, else None (the usages are on the request
    for the headers). A path no rate-limited DRF view serves spends nothing."""
    cls = view_class(request)
    if cls is None or not _rate_limited(cls):
        return None
    return spend_budgets(
        authenticated(request, cls.authentication_classes, cls.parser_classes),
        getattr(cls, "rate_limits", ()),
        getattr(cls, "on_rate_limited", None),
    )


# --- Failed authentications per client IP -----------------------------------------------------------------

AUTH_FAILURES_BUDGET = ip_budget("auth-failures-ip", "RATE_LIMIT_AUTH_FAILURES_PER_IP")


def count_failed_authentication(request: HttpRequest) -> int | None:
    """Counts one refused credential (bad API key, bad or expired token, wrong password) against the
    client's IP. Returns None while the IP has budget left, else the seconds until it has: the answer is
    then a 429 instead of the 401. Valid credentials from the same address are never refused by it."""
    counted = count([Count(AUTH_FAILURES_BUDGET, client_ip_key(request))])
    if counted is None:
        return None
    usages = counted[0]
    note_usages(request, usages)
    if usages[0].first_refusal:
        logger.warning(
            "Failed authentications from %s over %s a window",
            client_ip(request) or "-",
            usages[0].limit,
            extra={"policy": AUTH_FAILURES_BUDGET.name},
        )
    return retry_after(usages)


def ratelimit_headers(usages: Sequence[Usage]) -> dict[str, str]:
    if not usages:
        return {}
    return {
        "RateLimit-Policy": ", ".join(f'"{u.name}";q={u.limit};w={u.window}' for u in usages),
        "RateLimit": ", ".join(f'"{u.name}";r={u.remaining};t={u.reset}' for u in usages),
    }
