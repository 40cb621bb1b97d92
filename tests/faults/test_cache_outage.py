"""Redis cut, stalled and restored under a live gunicorn (issue #13 item 3): the service degrades and never
breaks. Insights, lists and login keep answering, fast; /ready says `degraded` with `checks.cache:
"failing"`; the log gets one line per worker, not a stack trace per request; after Redis is back, /ready
says so."""

from __future__ import annotations

import json
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.faults.conftest import ANSWER_WITHIN, PASSPHRASE, Answer, LiveServer
from tests.faults.proxy import Mode

pytestmark = [pytest.mark.postgres, pytest.mark.fault, pytest.mark.django_db(transaction=True)]

WORKERS = 2  # of the live server (tests/faults/conftest.py), whose CACHE_RETRY_SECONDS is 1
THREADS = 4  # per worker


def _log_lines(server: LiveServer, since: int) -> list[dict[str, object]]:
    lines = []
    for line in server.log_text(since).splitlines():
        try:
            lines.append(json.loads(line))
        except ValueError:
            lines.append({"raw": line})
    return lines


@pytest.mark.parametrize("fault", ["cut", "stall"])
def test_redis_trouble_degrades_and_never_breaks(live_server_behind_proxies: LiveServer, fault: Mode) -> None:
    server = live_server_behind_proxies
    email, token = server.register()
    assert server.get("/api/v1/user/insights", token).status == 200

    def one_round(_: int) -> list[tuple[str, Answer]]:
        return [
            ("insights", server.get("/api/v1/user/insights", token)),
            ("lists", server.get("/api/v1/lists", token)),
            ("health", server.get("/health")),
        ]

    log_start = server.log_size()
    server.cache.set_mode(fault)
    started, attempts_before = time.monotonic(), server.cache.accepted
    with ThreadPoolExecutor(4) as pool:
        during = [answer for round_ in pool.map(one_round, range(8)) for answer in round_]
    # One at a time: a password check alone takes a good part of a second (Argon2).
    logins = [server.post("/api/v1/auth/token", {"email": email, "password": PASSPHRASE}) for _ in range(4)]
    ready = server.get("/ready")
    elapsed, attempts = time.monotonic() - started, server.cache.accepted - attempts_before

    by_kind: dict[str, Counter[int]] = {"login": Counter(a.status for a in logins)}
    for kind, answer in during:
        by_kind.setdefault(kind, Counter())[answer.status] += 1
    slowest = max(answer.seconds for _, answer in during)
    slowest_login = max(answer.seconds for answer in logins)
    print(
        f"redis {fault}: { ({k: dict(v) for k, v in by_kind.items()}) }, slowest {slowest:.2f}s, "
        f"slowest login {slowest_login:.2f}s, /ready {ready.seconds:.2f}s, "
        f"{attempts} connections to Redis in {elapsed:.1f}s"
    )
    assert by_kind == {"login": {200: 4}, "insights": {200: 8}, "lists": {200: 8}, "health": {200: 8}}
    assert max(slowest, ready.seconds) < ANSWER_WITHIN
    # Logins are CPU-bound (Argon2) and slow on a busy machine; a login that waited on Redis did not
    # answer within the client's 5 s (status 0 above). The count of attempts below is the sharp measure.
    # Each worker tries Redis once per retry interval, not once per call (32 requests and 4 logins, each
    # several cache calls); /ready tries it once more. The threads of a worker that meet the outage at the
    # same moment may each try before the first failure is noted, hence THREADS per worker and interval.
    assert attempts <= WORKERS * THREADS * (elapsed + 1) + 1
    assert ready.status == 200, ready
    assert ready.body == {"status": "degraded", "checks": {"database": "ok", "cache": "failing"}}

    lines = _log_lines(server, since=log_start)
    assert not [line for line in lines if "exception" in line or "Traceback" in str(line.get("raw", ""))]
    warnings = [line for line in lines if str(line.get("message", "")).startswith("cache unavailable")]
    # At most one line per worker within the log interval (30 s; the previous test may have used it).
    assert len(warnings) <= WORKERS, warnings

    server.cache.set_mode("pass")
    deadline = time.monotonic() + 10
    while server.get("/ready").body.get("status") != "ready":
        assert time.monotonic() < deadline, "/ready never saw Redis again"
        time.sleep(0.2)
    assert server.get("/api/v1/user/insights", token).status == 200
