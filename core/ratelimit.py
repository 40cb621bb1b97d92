"""Rate limits (API.md section 7) on the shared cache, with django-ratelimit's atomic counters.

Every request counts against one default budget: per API key (an admin key gets `rate_limit_multiplier`
times more), else per user, else per client IP. Views add their own budgets in `rate_limits` (the auth
endpoints: per IP, per email). Counters live in the cache (`cache.add` + `cache.incr`, atomic in Redis), so
every process behind the load balancer spends from the same budget.

Answers carry `RateLimit-Policy` and `RateLimit` in the syntax of the IETF httpapi ratelimit-headers draft;
a refused request is a 429 `rate_limited` problem with `Retry-After` (seconds).
"""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django_ratelimit import ALL
from django_ratelimit.core import EXPIRATION_FUDGE, _get_window, _make_cache_key
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from core.context import client_ip_var, user_agent_var
from core.problems import RateLimited, problem_response

logger = logging.getLogger("daymark.ratelimit")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


# --- The client's address ---------------------------------------------------------------------------------


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr.strip(), strict=False) for cidr in cidrs if cidr.strip())


def _parse_ip(value: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(value.strip())
    except ValueError:
        return None


def _is_trusted_proxy(address: IPAddress) -> bool:
    return any(address in network for network in _networks(tuple(settings.TRUSTED_PROXIES)))


def client_ip(request: HttpRequest) -> str:
    """The caller's IP: REMOTE_ADDR, unless that peer is a trusted proxy; then the nearest address in
    X-Forwarded-For that is not a trusted proxy (read right to left, so a client cannot forge it)."""
    remote = _parse_ip(request.META.get("REMOTE_ADDR", "") or "")
    if remote is None:
        return ""
    address = remote
    if _is_trusted_proxy(address):
        hops = [hop for hop in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if hop.strip()]
        for hop in reversed(hops):
            forwarded = _parse_ip(hop)
            if forwarded is None:
                break
            address = forwarded
            if not _is_trusted_proxy(forwarded):
                break
    return str(address)


def client_ip_key(request: HttpRequest) -> str:
    """The rate-limit identity of an address: an IPv6 client owns at least a /64, so it counts as one."""
    address = _parse_ip(client_ip(request))
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is None:
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
    key: Callable[[Request], str | None]


@dataclass(frozen=True)
class Usage:
    name: str
    limit: int
    window: int
    count: int
    reset: int

    @property
    def exceeded(self) -> bool:
        return self.count > self.limit

    @property
    def remaining(self) -> int:
        return max(0, self.limit - self.count)


def _default_key(request: Request) -> str:
    key_id = getattr(request.auth, "rate_limit_key", None)
    if key_id:
        return f"key:{key_id}"
    user = request.user
    if user is not None and getattr(user, "is_authenticated", False):
        return f"user:{user.pk}"
    return client_ip_key(request._request)


DEFAULT_BUDGET = Budget("default", "RATE_LIMIT_DEFAULT", _default_key)


def ip_budget(name: str, setting: str) -> Budget:
    return Budget(name, setting, lambda request: client_ip_key(request._request))


# One round trip to Redis per budget: count, and start the window's expiry on its first request.
# (django-ratelimit's get_usage takes two: SET NX, then django-redis's EXISTS+INCRBY script.)
_COUNT_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


def _redis_counter(cache: Any) -> Callable[[str, int], int] | None:
    """`count(key, ttl)` on the cache's Redis, or None for a cache that is not django-redis."""
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    if get_client is None:
        return None
    script = get_client(write=True).register_script(_COUNT_SCRIPT)

    def count(key: str, ttl: int) -> int:
        return int(script(keys=[cache.client.make_key(key)], args=[ttl]))

    return count


def _count(key: str, ttl: int) -> int:
    cache = caches[getattr(settings, "RATELIMIT_USE_CACHE", "default")]
    counter = _redis_counter(cache)
    if counter is None:
        return _add_then_incr(cache, key, ttl)
    run = getattr(cache, "run", None)  # core.cache.OptionalRedisCache: a local count while Redis fails
    if run is None:
        return counter(key, ttl)
    return int(run(lambda: counter(key, ttl), lambda local: _add_then_incr(local, key, ttl)))


def _add_then_incr(cache: Any, key: str, ttl: int) -> int:
    if cache.add(key, 1, ttl):  # other caches (local memory in development): add, then an atomic incr
        return 1
    return int(cache.incr(key))


def _spend(request: Request, budget: Budget, value: str, multiplier: int) -> Usage | None:
    """Counts one request against `budget` for `value`, in django-ratelimit's windows and keys (a window
    per key, staggered so they do not all reset at once)."""
    if not getattr(settings, "RATELIMIT_ENABLE", True):
        return None
    limit, window = parse_rate(getattr(settings, budget.setting))
    limit *= multiplier
    group = f"daymark:{budget.name}"
    ends = _get_window(value, window)
    try:
        count = _count(_make_cache_key(group, ends, (limit, window), value, ALL), window + EXPIRATION_FUDGE)
    except Exception:  # the cache is down: serve rather than fail every request; the error is logged
        logger.exception("Rate-limit cache unavailable; request not counted")
        return None
    return Usage(budget.name, limit, window, count, max(0, ends - int(time.time())))


def spend_budgets(request: Request, view: Any) -> int | None:
    """Spends one unit of every budget that applies to `request` for `view` (the default budget and the
    view's `rate_limits`) and puts the usages on the request for the headers. Returns None when every
    budget still has room, else the seconds to wait; `view.on_rate_limited(request, usage)` is then called
    once per window, on the first refused request of a budget (the audit log uses it)."""
    multiplier = int(getattr(request.auth, "rate_limit_multiplier", 1) or 1)
    budgets: Sequence[Budget] = (DEFAULT_BUDGET, *getattr(view, "rate_limits", ()))
    usages: list[Usage] = []
    for budget in budgets:
        value = budget.key(request)
        if value is None:
            continue
        usage = _spend(request, budget, value, multiplier if budget is DEFAULT_BUDGET else 1)
        if usage is not None:
            usages.append(usage)
    request._request.rate_limit_usages = usages  # type: ignore[attr-defined]
    exceeded = [usage for usage in usages if usage.exceeded]
    if not exceeded:
        return None
    hook = getattr(view, "on_rate_limited", None)
    for usage in exceeded:
        if hook is not None and usage.count == usage.limit + 1:
            hook(request, usage)
    return max(1, *(usage.reset for usage in exceeded))


class RateLimitThrottle(BaseThrottle):
    """Spends one unit of every budget that applies; refuses when any is exhausted.

    A view may define `rate_limits: Sequence[Budget]` and `on_rate_limited(request, usage)` (see
    `spend_budgets`).
    """

    def __init__(self) -> None:
        self._wait: int | None = None

    def allow_request(self, request: Request, view: Any) -> bool:
        self._wait = spend_budgets(request, view)
        return self._wait is None

    def wait(self) -> float | None:
        return self._wait


def throttle_before_view(request: HttpRequest) -> HttpResponse | None:
    """For an answer given before the view runs (the idempotency layer's replay, 409 and 422): spends the
    budgets the view's throttle would spend, as the caller the view would authenticate, so such answers
    cost what the request costs. Returns the 429 answer when a budget is exhausted, else None (the usages
    are on the request for the headers). A path no rate-limited DRF view serves spends nothing."""
    try:
        view_class = getattr(resolve(request.path_info).func, "cls", None)
    except Resolver404:
        return None
    throttles = getattr(view_class, "throttle_classes", ())
    if view_class is None or not any(issubclass(t, RateLimitThrottle) for t in throttles):
        return None
    view = view_class()
    had_user, original = "user" in request.__dict__, request.__dict__.get("user")
    drf_request = Request(
        request,
        parsers=[parser() for parser in view.parser_classes],
        authenticators=[auth() for auth in view.authentication_classes],
    )
    try:
        # Authenticates, so the budget is the caller's; refused credentials leave the request anonymous.
        with suppress(APIException):
            drf_request.user  # noqa: B018
        wait = spend_budgets(drf_request, view)
    finally:
        # DRF's Request writes the user onto the Django request; leave it as it was.
        if had_user:
            request.__dict__["user"] = original
        else:
            request.__dict__.pop("user", None)
    if wait is None:
        return None
    response = problem_response(429, RateLimited.code, str(RateLimited.default_detail), RateLimited.title)
    response["Retry-After"] = str(wait)
    return response


def ratelimit_headers(usages: Sequence[Usage]) -> dict[str, str]:
    if not usages:
        return {}
    return {
        "RateLimit-Policy": ", ".join(f'"{u.name}";q={u.limit};w={u.window}' for u in usages),
        "RateLimit": ", ".join(f'"{u.name}";r={u.remaining};t={u.reset}' for u in usages),
    }


class ClientContextMiddleware:
    """Puts the caller's IP and user agent in the context (for the audit log) and the rate-limit headers of
    the budgets the request spent on the answer."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        ip_token = client_ip_var.set(client_ip(request) or None)
        agent_token = user_agent_var.set(request.headers.get("User-Agent", "")[:512])
        try:
            response = self.get_response(request)
        finally:
            client_ip_var.reset(ip_token)
            user_agent_var.reset(agent_token)
        for name, value in ratelimit_headers(getattr(request, "rate_limit_usages", ())).items():
            response[name] = value
        return response
