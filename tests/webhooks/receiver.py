"""A real HTTP receiver on 127.0.0.1 (a threaded http.server on a free port) that records what it gets and
answers what a test tells it to. Tests and the bench verify the signatures with the `standardwebhooks`
library itself, as a consumer would."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.ports import free_port


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    # The client's address and port: two requests with the same came over one kept connection.
    peer: tuple[str, int] = ("", 0)


# What the receiver answers a request: a status code, (status, {header: value}) or (status, headers, body).
Answer = int | tuple[int, dict[str, str]] | tuple[int, dict[str, str], bytes]


class Receiver:
    def __init__(
        self,
        answer: Callable[[Received], Answer] | None = None,
        *,
        keep: bool = True,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        self.received: list[Received] = []
        self.count = 0
        self.keep = keep
        self.answer = answer or (lambda request: 200)
        self._lock = threading.Lock()
        self.port = free_port()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                request = Received(
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    self.rfile.read(length),
                    self.client_address[:2],
                )
                with receiver._lock:
                    receiver.count += 1
                    if receiver.keep:
                        receiver.received.append(request)
                answered = receiver.answer(request)
                status, headers, body = (
                    (*answered, b"")[:3] if isinstance(answered, tuple) else (answered, {}, b"")
                )
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def wait_for(self, count: int, timeout: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if self.count >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"the receiver got {self.count} requests, not {count}, in {timeout}s")


@contextmanager
def running(
    answer: Callable[[Received], Answer] | None = None,
    *,
    keep: bool = True,
    tls: ssl.SSLContext | None = None,
) -> Iterator[Receiver]:
    receiver = Receiver(answer, keep=keep, tls=tls).start()
    try:
        yield receiver
    finally:
        receiver.stop()
