"""The live-updates part of `make bench` (bench/run.sh starts it after bench/load.py): 1,000 WebSockets held
by one ASGI process (uvicorn, as `make asgi` runs it) while 8 clients write through gunicorn.

Figures: the ASGI process's memory per socket (its RSS before and after the sockets open), the time from
each write's commit to the poke at every socket of the workspace's members (p50/p95/p99), and the REST
figures of the same writes without sockets and with them.

Layout (on `seed_load`'s light users): 8 writers, each owning a workspace with a list and 3 listener
members who hold 4 sockets each (96 sockets poked by the writes), and 904 other users with one idle socket
each. The commit time of a write is its `updated_at` (set inside the transaction just before it commits, so
the figure slightly overstates the latency); a writer writes one item at a time, so the k-th poke at a
listener's socket answers its workspace's k-th write. Uses Django (tokens and setup through the services)
and the `websockets` client.
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import json
import os
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django

django.setup()

from websockets.asyncio.client import connect  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services.sessions import session_tokens  # noqa: E402
from lists.services import list_create  # noqa: E402
from workspaces.services import invitation_accept, invitation_create, workspace_create  # noqa: E402

WRITERS = 8
LISTENERS = 3
SOCKETS_PER_LISTENER = 4


@dataclass
class Workspace:
    writer_token: str
    list_id: str
    listener_tokens: list[str]
    commits: list[float] = field(default_factory=list)


def prepare(sockets: int) -> tuple[list[Workspace], list[str]]:
    users = list(User.objects.filter(email__startswith="light-").order_by("email"))
    listeners_needed = WRITERS * LISTENERS
    idle_needed = sockets - listeners_needed * SOCKETS_PER_LISTENER
    if len(users) < WRITERS + listeners_needed + idle_needed:
        raise SystemExit(
            f"needs {WRITERS + listeners_needed + idle_needed} light users, seed_load made {len(users)}"
        )
    workspaces = []
    for n in range(WRITERS):
        writer = users[n]
        listeners = users[WRITERS + n * LISTENERS : WRITERS + (n + 1) * LISTENERS]
        workspace, _ = workspace_create(user=writer, data={"name": f"Live bench {n}"})
        shared, _ = list_create(user=writer, data={"name": "Live", "workspace": workspace.pk})
        for listener in listeners:
            invitation = invitation_create(
                user=writer, workspace_id=workspace.pk, email=listener.email, role="viewer"
            )
            invitation_accept(user=listener, invitation_id=invitation.pk)
        workspaces.append(
            Workspace(
                session_tokens(user=writer)["access"],
                str(shared.pk),
                [session_tokens(user=listener)["access"] for listener in listeners],
            )
        )
    idle = users[WRITERS + listeners_needed : WRITERS + listeners_needed + idle_needed]
    return workspaces, [session_tokens(user=user)["access"] for user in idle]


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


class Sockets:
    """Every socket in one asyncio loop in a thread; pokes are timestamped as they arrive."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.pokes: dict[int, list[float]] = {}
        self.workspace_of: dict[int, int] = {}
        self.connections: list[Any] = []
        self.errors = 0

    async def _hold(self, index: int, token: str, opened: asyncio.Event) -> None:
        try:
            async with connect(
                self.url,
                additional_headers={"Authorization": f"Bearer {token}"},
                open_timeout=60,
                max_queue=None,
            ) as socket:
                self.connections.append(socket)
                arrivals = self.pokes.setdefault(index, [])
                hello = json.loads(await socket.recv())
                assert hello["type"] == "hello", hello
                opened.set()
                last_ping = time.monotonic()
                while True:
                    try:
                        raw = await asyncio.wait_for(socket.recv(), timeout=10)
                    except TimeoutError:
                        raw = None
                    if raw is not None and json.loads(raw)["type"] == "sync":
                        arrivals.append(time.time())
                    if time.monotonic() - last_ping > 20:
                        last_ping = time.monotonic()
                        await socket.send('{"type":"ping"}')
        except asyncio.CancelledError:
            raise
        except Exception:
            self.errors += 1
            opened.set()

    async def _open_all(self, tokens: list[tuple[int, str]]) -> None:
        for start in range(0, len(tokens), 50):
            batch = []
            for index, token in tokens[start : start + 50]:
                opened = asyncio.Event()
                self.loop.create_task(self._hold(index, token, opened))
                batch.append(opened.wait())
            await asyncio.gather(*batch)

    def open_all(self, tokens: list[tuple[int, str]]) -> None:
        asyncio.run_coroutine_threadsafe(self._open_all(tokens), self.loop).result(timeout=600)

    def close_all(self) -> None:
        async def close() -> None:
            await asyncio.gather(*(c.close() for c in self.connections), return_exceptions=True)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=60)


def write_for(port: int, workspaces: list[Workspace], seconds: float) -> dict[str, Any]:
    """8 writers, one item at a time each, for `seconds`: throughput and latency of the writes."""
    latencies: list[float] = []
    errors = [0]
    stop = time.monotonic() + seconds

    def writer(workspace: Workspace) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {workspace.writer_token}", "Content-Type": "application/json"}
        n = 0
        while time.monotonic() < stop:
            n += 1
            body = json.dumps({"list": workspace.list_id, "title": f"Live {n}"})
            started = time.perf_counter()
            connection.request("POST", "/api/v1/items", body=body, headers=headers)
            response = connection.getresponse()
            data = response.read()
            latencies.append(time.perf_counter() - started)
            if response.status != 201:
                errors[0] += 1
                continue
            updated = json.loads(data)["updated_at"]
            workspace.commits.append(datetime.fromisoformat(updated.replace("Z", "+00:00")).timestamp())
        connection.close()

    threads = [threading.Thread(target=writer, args=(w,)) for w in workspaces]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return {
        "writes": len(latencies),
        "per_second": len(latencies) / elapsed,
        "p50_ms": percentile(latencies, 50) * 1000,
        "p95_ms": percentile(latencies, 95) * 1000,
        "p99_ms": percentile(latencies, 99) * 1000,
        "errors": errors[0],
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--http-port", type=int, required=True)
    parser.add_argument("--asgi-port", type=int, required=True)
    parser.add_argument("--asgi-pid", type=int, required=True)
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--json", default="")
    args = parser.parse_args()

    workspaces, idle_tokens = prepare(args.sockets)
    figures: dict[str, Any] = {}
    write_for(args.http_port, workspaces, 2)  # warm-up
    figures["rest_without_sockets"] = write_for(args.http_port, workspaces, args.duration)

    time.sleep(1)
    rss_before = rss_kib(args.asgi_pid)
    sockets = Sockets(f"ws://127.0.0.1:{args.asgi_port}/api/v1/stream")
    tokens: list[tuple[int, str]] = []
    index = 0
    for n, workspace in enumerate(workspaces):
        for token in workspace.listener_tokens:
            for _ in range(SOCKETS_PER_LISTENER):
                sockets.workspace_of[index] = n
                tokens.append((index, token))
                index += 1
    for token in idle_tokens:
        tokens.append((index, token))
        index += 1
    opened_at = time.monotonic()
    sockets.open_all(tokens)
    open_seconds = time.monotonic() - opened_at
    time.sleep(3)  # presence and hello traffic settles
    rss_after = rss_kib(args.asgi_pid)
    figures["sockets"] = {
        "open": len(sockets.connections),
        "failed": sockets.errors,
        "seconds_to_open": open_seconds,
        "asgi_rss_before_mib": rss_before / 1024,
        "asgi_rss_after_mib": rss_after / 1024,
        "kib_per_socket": (rss_after - rss_before) / max(1, len(sockets.connections)),
    }

    for workspace in workspaces:
        workspace.commits.clear()
    for arrivals in sockets.pokes.values():
        arrivals.clear()
    figures["rest_with_sockets"] = write_for(args.http_port, workspaces, args.duration)
    time.sleep(2)  # the last pokes arrive
    delays: list[float] = []
    expected = received = 0
    for socket_index, workspace_index in sockets.workspace_of.items():
        commits = workspaces[workspace_index].commits
        arrivals = sockets.pokes.get(socket_index, [])
        expected += len(commits)
        received += len(arrivals)
        delays += [arrival - commit for commit, arrival in zip(commits, arrivals, strict=False)]
    figures["poke"] = {
        "sockets_poked": len(sockets.workspace_of),
        "expected": expected,
        "received": received,
        "p50_ms": percentile(delays, 50) * 1000,
        "p95_ms": percentile(delays, 95) * 1000,
        "p99_ms": percentile(delays, 99) * 1000,
        "max_ms": max(delays) * 1000 if delays else float("nan"),
    }
    sockets.close_all()

    report(figures)
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2))


def report(figures: dict[str, Any]) -> None:
    s, p = figures["sockets"], figures["poke"]
    lines = [
        "",
        f"live updates: {s['open']} sockets on one uvicorn process ({s['failed']} failed), "
        f"opened in {s['seconds_to_open']:.1f} s",
        f"  ASGI memory   {s['asgi_rss_before_mib']:.0f} MiB -> {s['asgi_rss_after_mib']:.0f} MiB: "
        f"{s['kib_per_socket']:.0f} KiB per socket",
        f"  commit->poke  p50 {p['p50_ms']:.1f} ms  p95 {p['p95_ms']:.1f} ms  p99 {p['p99_ms']:.1f} ms  "
        f"max {p['max_ms']:.1f} ms  ({p['received']}/{p['expected']} pokes at "
        f"{p['sockets_poked']} member sockets)",
    ]
    for name, key in (("without sockets", "rest_without_sockets"), ("with sockets", "rest_with_sockets")):
        f = figures[key]
        lines.append(
            f"  POST items {name:16} {f['per_second']:7.1f}/s  p50 {f['p50_ms']:.1f} ms  "
            f"p95 {f['p95_ms']:.1f} ms  p99 {f['p99_ms']:.1f} ms  errors {f['errors']}"
        )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
