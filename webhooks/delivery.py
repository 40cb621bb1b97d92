"""Sending deliveries (docs/operations.md, "Webhooks"): every worker process runs `deliver_due` in a loop
(jobs.registry.loop), so any number of workers share the due deliveries.

1. Claim: the due pending deliveries, oldest first, `SELECT ... FOR UPDATE SKIP LOCKED` on PostgreSQL (two
   workers take different rows without waiting for each other), then one conditional UPDATE that moves
   them past their attempt's timeout and stamps this claim's token. On SQLite the transaction is
   IMMEDIATE, so claims are serialised and the UPDATE's condition is all it takes.
2. Send, outside any transaction: the URL is checked again (webhooks.guard) and the request goes to the
   checked address, with the Host header and TLS name of the URL; `webhook-id` is the delivery's id, the
   same on every attempt. 15 seconds, redirects not followed (a 3xx is a failure). The request goes
   straight to httpx's transport, not through an `httpx.Client`: the client's cookies, redirects, proxies
   and header merging are all things a delivery must not have, and they cost more CPU than the request
   itself (docs/performance.md, "Webhooks"). The answer's body is read up to ANSWER_LIMIT, then dropped.
3. Record, only where the claim is still this one's: a 2xx succeeds; anything else is retried on the
   schedule below, and fails after the last retry. A 410 disables the endpoint at once; failing since three
   days disables it too (webhooks.services.endpoint_disable notifies the owner).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID, uuid4

import httpx
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from webhooks import guard, services, signing
from webhooks.models import Delivery, Endpoint

logger = logging.getLogger("daymark.webhooks")

TIMEOUT_SECONDS = 15.0
# httpcore's timeouts, per request (a transport has no default: without them it would wait for ever).
TIMEOUTS = httpx.Timeout(TIMEOUT_SECONDS).as_dict()
# An answer's body is read this far (the connection is kept for the next delivery), no further (a longer
# one closes it): only the status counts.
ANSWER_LIMIT = 64 * 1024
# After the first attempt fails: about 3 days and 3 hours in all (Standard Webhooks' example schedule).
RETRY_SCHEDULE = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=14),
    timedelta(hours=20),
    timedelta(hours=24),
)
DISABLE_AFTER = timedelta(days=3)
# A claimed delivery is due again this long after the claim unless its outcome is recorded: longer than an
# attempt can take, so a worker killed mid-attempt delays it, never loses it.
CLAIM_LEASE = timedelta(minutes=3)
# A batch starts no attempt after this (the rest are released, due at once): with one attempt at most
# TIMEOUT_SECONDS long after it, the outcomes are recorded well within the lease.
BATCH_SECONDS = 60.0
BATCH_SIZE = 200
# A batch's endpoints are sent to side by side, each endpoint's deliveries one after another: while one
# waits for an answer, the others go on.
SEND_THREADS = 8
USER_AGENT = "Daymark-Webhooks/1"


def make_transport() -> httpx.BaseTransport:
    """The HTTP transport of the deliveries (tests put one in that fails if it is ever reached)."""
    return httpx.HTTPTransport(retries=0)


# --- 1. claim ------------------------------------------------------------------------------------------


def claim_due(now: datetime, *, token: str, limit: int = BATCH_SIZE) -> list[Delivery]:
    due = Delivery.objects.filter(
        status=Delivery.Status.PENDING, next_attempt_at__lte=now, endpoint__active=True
    ).order_by("next_attempt_at")
    with transaction.atomic():
        if connection.vendor == "postgresql":
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("pk", flat=True)[:limit])
        if not ids:
            return []
        Delivery.objects.filter(pk__in=ids, status=Delivery.Status.PENDING, next_attempt_at__lte=now).update(
            next_attempt_at=now + CLAIM_LEASE, claim=token
        )
    return list(
        Delivery.objects.filter(claim=token).select_related("endpoint", "event").order_by("created_at")
    )


# --- 2. send -------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    status_code: int | None = None
    error: str = ""
    # False: not sent in this batch (out of time, or its endpoint did not answer the one before).
    attempted: bool = True

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class _Transports:
    """The process's HTTP transports (each a pool of kept connections), one per endpoint and checked
    address, shared by the sending threads and reused across batches (an endpoint is sent to by one thread
    at a time, so it holds one connection or so). Never shared between endpoints: a connection opened for
    one URL's name is never used for another's, even at the same address. The transport's factory is part
    of the key, so a test that puts in another one gets new transports. At most LIMIT are kept, the least
    recently used closed first (never one in use: at most SEND_THREADS are, and they are the most recent)."""

    LIMIT = 64

    def __init__(self) -> None:
        self.transports: OrderedDict[tuple[object, ...], httpx.BaseTransport] = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key: tuple[object, ...]) -> httpx.BaseTransport:
        with self.lock:
            transport = self.transports.pop(key, None)
            if transport is None:
                transport = make_transport()
            self.transports[key] = transport
            evicted = []
            while len(self.transports) > self.LIMIT:
                evicted.append(self.transports.popitem(last=False)[1])
        for oldest in evicted:
            oldest.close()
        return transport

    def close_all(self) -> None:
        with self.lock:
            transports = list(self.transports.values())
            self.transports.clear()
        for transport in transports:
            transport.close()


_transports = _Transports()
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _senders() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=SEND_THREADS, thread_name_prefix="webhooks-send")
        return _pool


def _request(target: guard.Target, headers: dict[str, str], body: bytes) -> httpx.Request:
    """The request to the checked address in place of the URL's name, with the name in the Host header
    and as TLS's server name (so the certificate is checked against it)."""
    url = httpx.URL(target.url)
    extensions: dict[str, object] = {"timeout": TIMEOUTS}
    if target.address is not None:
        headers = {**headers, "Host": url.netloc.decode("ascii")}
        extensions["sni_hostname"] = url.host
        url = url.copy_with(host=target.address)
    return httpx.Request("POST", url, content=body, headers=headers, extensions=extensions)


def _status(transport: httpx.BaseTransport, request: httpx.Request) -> int:
    """Sends the request; reads the answer's body up to ANSWER_LIMIT, so that the connection is kept."""
    response = transport.handle_request(request)
    try:
        read = 0
        for chunk in response.stream:  # type: ignore[union-attr]
            read += len(chunk)
            if read > ANSWER_LIMIT:
                break
    finally:
        response.close()
    return response.status_code


def send(
    endpoint: Endpoint, deliveries: list[Delivery], at: datetime, deadline: float | None = None
) -> dict[UUID, Outcome]:
    """Sends these deliveries of one endpoint, one after another on one kept connection. After an attempt
    that got no answer (a timeout, a refused connection) the rest are not attempted in this batch: each
    would wait as long, and they are released to be tried again with the next retry; after a 410 they are
    not sent at all (the endpoint is disabled)."""
    try:
        target = guard.check_url(endpoint.url)
    except guard.Refused as refused:
        return {delivery.pk: Outcome(error=str(refused)) for delivery in deliveries}
    transport = _transports.get((make_transport, endpoint.pk, endpoint.url, target.address, endpoint.secret))
    signer = signing.signer(endpoint.secret)
    outcomes: dict[UUID, Outcome] = {}
    unanswered = False
    for delivery in deliveries:
        if unanswered or (deadline is not None and time.monotonic() > deadline):
            outcomes[delivery.pk] = Outcome(error="not attempted", attempted=False)
            continue
        body = delivery.event.body
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            **signing.headers(signer, webhook_id=delivery.webhook_id, at=at, body=body),
        }
        try:
            status_code = _status(transport, _request(target, headers, body.encode()))
            outcomes[delivery.pk] = Outcome(status_code=status_code)
            # Gone: the endpoint is disabled with this outcome; nothing more goes to it.
            unanswered = status_code == 410
        except httpx.HTTPError as error:
            outcomes[delivery.pk] = Outcome(error=f"{type(error).__name__}: {error}"[:300])
            unanswered = True
    return outcomes


# --- 3. record -----------------------------------------------------------------------------------------


def _record(deliveries: list[Delivery], outcomes: dict[UUID, Outcome], token: str, at: datetime) -> None:
    mine = Delivery.objects.filter(claim=token)
    succeeded: dict[int, list[UUID]] = defaultdict(list)
    good_endpoints: set[UUID] = set()
    failing: dict[UUID, list[Delivery]] = defaultdict(list)
    unsent: list[UUID] = []
    for delivery in deliveries:
        outcome = outcomes[delivery.pk]
        if not outcome.attempted:
            unsent.append(delivery.pk)
        elif outcome.ok:
            assert outcome.status_code is not None
            succeeded[outcome.status_code].append(delivery.pk)
            good_endpoints.add(delivery.endpoint_id)
        else:
            failing[delivery.endpoint_id].append(delivery)
    for status_code, ids in succeeded.items():
        mine.filter(pk__in=ids).update(
            status=Delivery.Status.SUCCEEDED,
            attempts=F("attempts") + 1,
            last_status_code=status_code,
            last_error="",
            last_attempt_at=at,
            next_attempt_at=None,
            claim="",
        )
    if unsent:
        mine.filter(pk__in=unsent).update(next_attempt_at=at + RETRY_SCHEDULE[0], claim="")
    if good_endpoints:
        Endpoint.objects.filter(pk__in=good_endpoints, failing_since__isnull=False).update(failing_since=None)
    for endpoint_id, failed in failing.items():
        _record_failures(endpoint_id, failed, outcomes, token, at)


def _record_failures(
    endpoint_id: UUID, failed: list[Delivery], outcomes: dict[UUID, Outcome], token: str, at: datetime
) -> None:
    gone = recorded = False
    for delivery in failed:
        outcome = outcomes[delivery.pk]
        attempts = delivery.attempts + 1
        retry = RETRY_SCHEDULE[attempts - 1] if attempts <= len(RETRY_SCHEDULE) else None
        recorded |= bool(
            Delivery.objects.filter(pk=delivery.pk, claim=token).update(
                status=Delivery.Status.PENDING if retry else Delivery.Status.FAILED,
                attempts=attempts,
                last_status_code=outcome.status_code,
                last_error=outcome.error or f"HTTP {outcome.status_code}",
                last_attempt_at=at,
                next_attempt_at=at + retry if retry else None,
                claim="",
            )
        )
        gone = gone or outcome.status_code == 410
    if not recorded:
        return  # taken over by another worker (this one outlived its lease): its outcome does not count
    if gone:
        services.endpoint_disable(endpoint_id=endpoint_id, reason=Endpoint.DisabledReason.GONE)
        return
    Endpoint.objects.filter(pk=endpoint_id, failing_since__isnull=True).update(failing_since=at)
    if Endpoint.objects.filter(pk=endpoint_id, active=True, failing_since__lte=at - DISABLE_AFTER).exists():
        services.endpoint_disable(endpoint_id=endpoint_id, reason=Endpoint.DisabledReason.FAILING)


# --- the loop ------------------------------------------------------------------------------------------


def deliver_due(now: datetime | None = None, *, limit: int = BATCH_SIZE) -> int:
    """One batch: claims up to `limit` due deliveries, sends them, records how each went. Returns how many
    it attempted (0: nothing was due)."""
    now = now or timezone.now()
    token = f"{uuid4().hex}"
    claimed = claim_due(now, token=token, limit=limit)
    if not claimed:
        return 0
    by_endpoint: dict[UUID, list[Delivery]] = defaultdict(list)
    for delivery in claimed:
        by_endpoint[delivery.endpoint_id].append(delivery)
    outcomes: dict[UUID, Outcome] = {}
    deadline = time.monotonic() + BATCH_SECONDS
    groups = list(by_endpoint.values())
    if len(groups) == 1:
        outcomes = send(groups[0][0].endpoint, groups[0], timezone.now(), deadline)
    else:
        # The sending threads touch no database: the batch's rows were read above, and are written below.
        sending = [_senders().submit(send, g[0].endpoint, g, timezone.now(), deadline) for g in groups]
        for future in sending:
            outcomes |= future.result()
    _record(claimed, outcomes, token, timezone.now())
    succeeded = sum(1 for outcome in outcomes.values() if outcome.ok)
    attempted = sum(1 for outcome in outcomes.values() if outcome.attempted)
    # Never the URLs: they may hold their receiver's token.
    logger.info(
        "webhooks: %d claimed, %d attempted, %d succeeded, %d endpoints",
        len(claimed),
        attempted,
        succeeded,
        len(groups),
        extra={"claimed": len(claimed), "attempted": attempted, "succeeded": succeeded},
    )
    return len(claimed)


def deliver_loop(now: datetime) -> int:
    """The worker's loop (jobs.registry.loop)."""
    return deliver_due(now)


def close_transports() -> None:
    _transports.close_all()
