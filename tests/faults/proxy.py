"""A TCP proxy on 127.0.0.1 that a test controls, to fail PostgreSQL or Redis without touching them.

Modes:
- `pass`: forwards both ways.
- `cut`: resets every open connection (both sides, RST) and resets new ones as soon as they are accepted:
  a server that died or restarted (pooled connections are dead).
- `stall`: accepts new connections and never forwards anything, and stops forwarding on open ones: a
  server or network that hangs. Going back to `pass` resumes the open connections where they stopped.
"""

from __future__ import annotations

import contextlib
import select
import socket
import struct
import threading
from typing import Literal

Mode = Literal["pass", "cut", "stall"]


def _reset(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.close()


class FaultProxy:
    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port: int = self._listener.getsockname()[1]
        self._mode: Mode = "pass"
        self._changed = threading.Condition()
        self._open: set[socket.socket] = set()
        self._closing = False
        # Connections accepted so far: how often the app tried to reach the service.
        self.accepted = 0
        threading.Thread(target=self._accept, daemon=True, name=f"proxy-{self.port}").start()

    @property
    def mode(self) -> Mode:
        return self._mode

    def set_mode(self, mode: Mode) -> None:
        with self._changed:
            self._mode = mode
            if mode == "cut":
                for sock in list(self._open):
                    _reset(sock)
                self._open.clear()
            self._changed.notify_all()

    def close(self) -> None:
        self._closing = True
        self.set_mode("cut")
        with contextlib.suppress(OSError):
            self._listener.close()

    def _accept(self) -> None:
        while not self._closing:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _wait_while_stalled(self) -> Mode:
        with self._changed:
            while self._mode == "stall" and not self._closing:
                self._changed.wait()
            return self._mode

    def _serve(self, client: socket.socket) -> None:
        if self._wait_while_stalled() == "cut":
            _reset(client)
            return
        try:
            upstream = socket.create_connection(self.target, timeout=5)
        except OSError:
            _reset(client)
            return
        upstream.settimeout(None)
        with self._changed:
            if self._mode == "cut":
                _reset(client)
                _reset(upstream)
                return
            self._open.update((client, upstream))
        threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
        self._pump(upstream, client)

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while True:
                if self._wait_while_stalled() == "cut":
                    return
                readable, _, _ = select.select([source], [], [], 0.05)
                if not readable or self._mode != "pass":
                    continue
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except (OSError, ValueError):
            pass
        with self._changed:
            for sock in (source, sink):
                if sock in self._open:
                    self._open.discard(sock)
                    _reset(sock)
