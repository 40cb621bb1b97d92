"""Rate-limit windows and a test's own clock.

Windows are fixed and staggered by a hash of the client (core/ratelimit.py `window_end`): the hour window of
`ip:127.0.0.1` ends at 21:22 past every hour, its minute window at second 22 of every minute. A test that
counts its requests against a budget fails when an edge falls between its first and last request (the count
starts over). In this process the limiter's clock is held at the test's start (the autouse fixture in
tests/conftest.py); a server a test starts in another process has its own clock, so such a test waits out
an edge that is near before it sends anything.
"""

from __future__ import annotations

import time
from types import SimpleNamespace

import pytest

from core import ratelimit


def hold_the_limiters_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every window this process computes is the one of the moment this is called."""
    held = time.time()
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: held))


def clear_of_window_edge(rate: str, *keys: str, lasting: float = 60.0) -> None:
    """Returns once the windows of `keys` (default: this machine's loopback client) under `rate` all have
    `lasting` seconds left: sleeps past any edge nearer than that."""
    _, window = ratelimit.parse_rate(rate)
    assert window > lasting + 1, f"a {rate} window is too short to hold {lasting} s of requests"
    keys = keys or ("ip:127.0.0.1",)
    while True:
        now = time.time()  # the real clock: the held one (in this process) never passes an edge
        left = min(ratelimit.window_end(key, window, int(now)) for key in keys) - now
        if left >= lasting:
            return
        time.sleep(max(0.0, left) + 1)
