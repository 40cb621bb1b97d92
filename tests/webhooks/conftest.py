"""Fixtures of the webhook tests. No test may send a packet outside 127.0.0.0/8, nor ask real DNS: every
test here gets a stub resolver (names it does not know fail to resolve), and the delivery clients' transport
refuses, failing the test, any connection to an address outside loopback."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from accounts.models import User
from tests.conftest import client_for
from tests.webhooks.receiver import Receiver, running
from webhooks import delivery, guard

HOOKS = "/api/v1/user/webhooks"


class StubResolver:
    def __init__(self) -> None:
        self.names: dict[str, list[str]] = {}
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host not in self.names:
            raise OSError(f"stub resolver: {host} is not known")
        return self.names[host]


class LoopbackOnlyTransport(httpx.BaseTransport):
    """The real transport, for loopback addresses only; anything else fails the test before a socket."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport(retries=0)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        try:
            loopback = ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if not loopback:
            pytest.fail(f"a delivery tried to connect to {host}, outside 127.0.0.0/8")
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


class Unreachable(httpx.BaseTransport):
    """A transport that no request may reach: the guard must refuse before any connection is opened."""

    def __init__(self) -> None:
        self.reached: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.reached.append(str(request.url))
        pytest.fail(f"a request reached the transport: {request.url}")


@pytest.fixture(autouse=True)
def resolver(monkeypatch: pytest.MonkeyPatch) -> StubResolver:
    stub = StubResolver()
    monkeypatch.setattr(guard, "resolve", stub)
    return stub


@pytest.fixture(autouse=True)
def _loopback_only(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(delivery, "make_transport", LoopbackOnlyTransport)
    delivery.close_transports()
    yield
    delivery.close_transports()


@pytest.fixture
def unreachable(monkeypatch: pytest.MonkeyPatch) -> Unreachable:
    transport = Unreachable()
    monkeypatch.setattr(delivery, "make_transport", lambda: transport)
    delivery.close_transports()
    return transport


@pytest.fixture
def insecure(settings: Any) -> None:
    settings.WEBHOOKS_ALLOW_INSECURE = True


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running() as started:
        yield started


def make_webhook(user: User, url: str, events: list[str] | None = None) -> dict[str, Any]:
    response = client_for(user).post(HOOKS, {"url": url, "events": events or ["*"]}, format="json")
    assert response.status_code == 201, response.content
    return dict(response.json())
