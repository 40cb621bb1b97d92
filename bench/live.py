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
import contextlib
import gc
import http.client
import json
import multiprocessing
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

from django.conf import settings  # noqa: E402
from websockets.client import ClientProtocol  # noqa: E402
from websockets.extensions.permessage_deflate import enable_client_permessage_deflate  # noqa: E402
from websockets.frames import Frame, Opcode  # noqa: E402
from websockets.protocol import State  # noqa: E402
from websockets.uri import parse_uri  # noqa: E402

from accounts.models import User  # noqa: E402
from accounts.services.sessions import session_tokens  # noqa: E402
from lists.services import list_create  # noqa: E402
from workspaces.services import invitation_accept, invitation_create, workspace_create  # noqa: E402

WRITERS = 8
LISTENERS = 3
SOCKETS_PER_LISTENER = 4
IDLE_SECONDS = 5


@dataclass
class Workspace:
    writer_id: str
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
                str(writer.pk),
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


def cpu_seconds(pid: int) -> float:
    """User and system CPU time the process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu_seconds(master: int) -> float:
    """gunicorn's workers' CPU time so far (the children of its master)."""
    children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
    total = 0.0
    for child in children:
        with contextlib.suppress(FileNotFoundError):
            total += cpu_seconds(int(child))
    return total


def postgres_cpu_seconds() -> float:
    """The CPU time of this machine's PostgreSQL so far: its running processes' and, through the
    postmaster's children's time, that of backends that have exited."""
    total = 0.0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if (proc / "comm").read_text().strip() != "postgres":
                continue
            fields = (proc / "stat").read_text().rsplit(")", 1)[1].split()
            total += sum(int(v) for v in fields[11:13])
            if fields[1] == "1" or Path(f"/proc/{fields[1]}/comm").read_text().strip() != "postgres":
                total += sum(int(v) for v in fields[13:15])  # the postmaster: its exited children
    return total / os.sysconf("SC_CLK_TCK")


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU jiffies of the whole machine so far, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


class Meter:
    def __init__(self, asgi_pid: int, server_pid: int, client: Any) -> None:
        self.asgi_pid, self.server_pid, self.client = asgi_pid, server_pid, client

    def measured(self, run: Any) -> dict[str, Any]:
        """`run()`'s figures, with the CPU the ASGI process, gunicorn's workers and the socket client used
        over it (percent of one core), how busy the whole machine was (percent of all its cores: the other
        agents' work shows there) and the load average at its end."""
        started, busy = time.monotonic(), machine_busy()
        asgi, server, client = (
            cpu_seconds(self.asgi_pid),
            server_cpu_seconds(self.server_pid),
            self.client(),
        )
        figures: dict[str, Any] = run()
        elapsed = time.monotonic() - started
        busy_after = machine_busy()
        figures["asgi_cpu_seconds"] = cpu_seconds(self.asgi_pid) - asgi
        figures["client_cpu_seconds"] = self.client() - client
        figures["asgi_cpu_percent"] = figures["asgi_cpu_seconds"] / elapsed * 100
        figures["server_cpu_percent"] = (server_cpu_seconds(self.server_pid) - server) / elapsed * 100
        figures["client_cpu_percent"] = (self.client() - client) / elapsed * 100
        figures["machine_busy_percent"] = (busy_after[0] - busy[0]) / max(1, busy_after[1] - busy[1]) * 100
        figures["load_average"] = os.getloadavg()[0]
        return figures


def idle_for(seconds: float) -> Any:
    def run() -> dict[str, Any]:
        time.sleep(seconds)
        return {}

    return run


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] if ordered else float("nan")


POKE = b'{"type":"sync"}'


class _Client(asyncio.Protocol):
    """One socket of the bench's client: websockets' sans-I/O protocol straight on an asyncio transport (no
    task per connection, no timer per receive). A poke is timestamped in `data_received`, as its bytes reach
    the process. It offers permessage-deflate, as browsers and websockets' client do (the server decides)."""

    def __init__(
        self, owner: Sockets, index: int, url: str, token: str, opened: asyncio.Future[None]
    ) -> None:
        self.owner, self.index, self.opened = owner, index, opened
        self.protocol = ClientProtocol(
            parse_uri(url), extensions=enable_client_permessage_deflate(None), max_size=2**20
        )
        self.request = self.protocol.connect()
        self.request.headers["Authorization"] = f"Bearer {token}"
        self.arrivals = owner.pokes.setdefault(index, [])
        self.transport: asyncio.Transport | None = None
        self.hello = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        self.protocol.send_request(self.request)
        self._flush()

    def _flush(self) -> None:
        data = self.protocol.data_to_send()
        if data and self.transport is not None:
            self.transport.write(b"".join(data))

    def data_received(self, data: bytes) -> None:
        at = time.time()
        self.protocol.receive_data(data)
        for event in self.protocol.events_received():
            if isinstance(event, Frame):
                if event.opcode is Opcode.TEXT:
                    if event.data == POKE:  # the server's constant frame: not parsed again each time
                        self.arrivals.append(at)
                    elif json.loads(event.data)["type"] == "hello" and not self.hello:
                        self.hello = True
                        self.next_ping = time.monotonic() + Sockets.PING_SECONDS
                        if not self.opened.done():
                            self.opened.set_result(None)
            elif self.protocol.handshake_exc is not None and not self.opened.done():
                self.opened.set_exception(self.protocol.handshake_exc)
        self._flush()  # pongs to the server's pings, a close's answer

    def send_ping(self) -> None:
        """The contract's keep-alive: a `ping` frame at least every heartbeat."""
        if self.protocol.state is State.OPEN:
            self.protocol.send_text(b'{"type":"ping"}')
            self._flush()

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.live.discard(self)
        if not self.opened.done():
            self.opened.set_exception(ConnectionError("closed before hello"))
        elif not self.owner.closing:
            self.owner.errors += 1

    def close(self) -> None:
        if self.protocol.state is State.OPEN:
            self.protocol.send_close(1000)
            self._flush()
        if self.transport is not None:
            self.transport.close()


class Sockets:
    """Every socket in one asyncio loop in a thread; pokes are timestamped as they arrive. One task pings
    every socket every 20 s (in the phase of its opening), as a client must within the heartbeat."""

    PING_SECONDS = 20

    def __init__(self, url: str) -> None:
        self.url = url
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.pokes: dict[int, list[float]] = {}
        self.workspace_of: dict[int, int] = {}
        self.connections: list[_Client] = []
        self.live: set[_Client] = set()
        self.errors = 0
        self.closing = False

    async def _open(self, index: int, token: str) -> None:
        parsed = parse_uri(self.url)
        opened: asyncio.Future[None] = self.loop.create_future()
        try:
            _, client = await self.loop.create_connection(
                lambda: _Client(self, index, self.url, token, opened), parsed.host, parsed.port
            )
            await asyncio.wait_for(opened, 60)
        except Exception:
            self.errors += 1
            return
        self.connections.append(client)
        self.live.add(client)

    async def _pinger(self) -> None:
        while True:
            await asyncio.sleep(1)
            now = time.monotonic()
            for client in list(self.live):
                if now >= client.next_ping:
                    client.next_ping = now + self.PING_SECONDS
                    client.send_ping()

    async def _open_all(self, tokens: list[tuple[int, str]]) -> None:
        self.loop.create_task(self._pinger())
        for start in range(0, len(tokens), 50):
            await asyncio.gather(*(self._open(index, token) for index, token in tokens[start : start + 50]))

    def open_all(self, tokens: list[tuple[int, str]]) -> None:
        asyncio.run_coroutine_threadsafe(self._open_all(tokens), self.loop).result(timeout=600)

    def close_all(self) -> None:
        async def close() -> None:
            self.closing = True
            for client in self.connections:
                client.close()
            await asyncio.sleep(0.5)

        asyncio.run_coroutine_threadsafe(close(), self.loop).result(timeout=60)


class Published:
    """Listens to the live-updates pub/sub channel beside the sockets: when each poke event reached Redis's
    subscribers, to split commit -> poke into commit -> published and published -> socket."""

    def __init__(self) -> None:
        import redis

        from live.hub import channel_name

        self.events: list[tuple[float, list[str]]] = []
        self.pubsub = redis.Redis.from_url(settings.REDIS_URL).pubsub(ignore_subscribe_messages=True)
        self.pubsub.subscribe(channel_name())
        threading.Thread(target=self._listen, daemon=True).start()

    def _listen(self) -> None:
        for message in self.pubsub.listen():
            if message["type"] == "message":
                event = json.loads(message["data"])
                if "poke" in event:
                    self.events.append((time.time(), event["poke"]))


class Lag:
    """How late the sockets' event loop wakes (a sleep of 10 ms that takes longer), and the garbage
    collector's pauses, in the socket client: its share of commit -> poke."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.lags: list[float] = []
        self.gc_pauses: list[float] = []
        self._gc_started = 0.0
        gc.callbacks.append(self._gc)
        asyncio.run_coroutine_threadsafe(self._watch(), loop)

    def _gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_pauses.append(time.perf_counter() - self._gc_started)

    async def _watch(self) -> None:
        while True:
            started = time.perf_counter()
            await asyncio.sleep(0.01)
            self.lags.append(time.perf_counter() - started - 0.01)

    def take(self) -> dict[str, float]:
        lags, pauses = self.lags, self.gc_pauses
        self.lags, self.gc_pauses = [], []
        return {
            "loop_lag_p99_ms": percentile(lags, 99) * 1000,
            "loop_lag_max_ms": max(lags, default=0) * 1000,
            "gc_pause_max_ms": max(pauses, default=0) * 1000,
            "gc_pause_total_ms": sum(pauses) * 1000,
        }


def _serve_sockets(url: str, conn: Any) -> None:
    """The child process that holds the sockets, driven through a pipe."""
    sockets = Sockets(url)
    published = Published()
    lag = Lag(sockets.loop)
    while True:
        command, args = conn.recv()
        if command == "open":
            sockets.workspace_of = args[1]
            sockets.open_all(args[0])
            # The 1,000 connections live as long as the client: kept out of the collector's full passes,
            # whose pauses (up to 260 ms over them) were counted as the server's commit -> poke time.
            gc.freeze()
            conn.send((len(sockets.connections), sockets.errors))
        elif command == "clear":
            for arrivals in sockets.pokes.values():
                arrivals.clear()
            conn.send(None)
        elif command == "pokes":
            conn.send({index: list(arrivals) for index, arrivals in sockets.pokes.items()})
        elif command == "lag":
            conn.send(lag.take())
        elif command == "published":
            conn.send(list(published.events))
            published.events.clear()
        elif command == "cpu":
            conn.send(time.process_time())
        elif command == "close":
            sockets.close_all()
            conn.send(None)
        elif command == "exit":
            conn.send(None)
            return


class SocketsProcess:
    """The sockets in a process of their own: the writers' threads do not share an interpreter lock with
    the 1,000 sockets' event loop (which would slow the writes for a reason that is not the server's)."""

    def __init__(self, url: str) -> None:
        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve_sockets, args=(url, child), daemon=True)
        self.process.start()

    def call(self, command: str, *args: Any) -> Any:
        self.conn.send((command, args))
        return self.conn.recv()


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
    parser.add_argument("--server-pid", type=int, required=True, help="gunicorn's master")
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=10)
    parser.add_argument("--json", default="")
    args = parser.parse_args()

    workspaces, idle_tokens = prepare(args.sockets)
    from django.db import connections

    connections.close_all()  # the socket process is forked: it must not share a database connection
    sockets = SocketsProcess(f"ws://127.0.0.1:{args.asgi_port}/api/v1/stream")
    meter = Meter(args.asgi_pid, args.server_pid, lambda: sockets.call("cpu"))
    figures: dict[str, Any] = {}

    def writes() -> dict[str, Any]:
        return write_for(args.http_port, workspaces, args.duration)

    write_for(args.http_port, workspaces, 2)  # warm-up
    figures["rest_without_sockets"] = meter.measured(writes)

    time.sleep(1)
    rss_before = rss_kib(args.asgi_pid)
    workspace_of: dict[int, int] = {}
    tokens: list[tuple[int, str]] = []
    index = 0
    for n, workspace in enumerate(workspaces):
        for token in workspace.listener_tokens:
            for _ in range(SOCKETS_PER_LISTENER):
                workspace_of[index] = n
                tokens.append((index, token))
                index += 1
    for token in idle_tokens:
        tokens.append((index, token))
        index += 1
    opened_at = time.monotonic()
    opened, failed = sockets.call("open", tokens, workspace_of)
    open_seconds = time.monotonic() - opened_at
    time.sleep(3)  # presence and hello traffic settles
    rss_after = rss_kib(args.asgi_pid)
    figures["sockets"] = {
        "open": opened,
        "failed": failed,
        "seconds_to_open": open_seconds,
        "asgi_rss_before_mib": rss_before / 1024,
        "asgi_rss_after_mib": rss_after / 1024,
        "kib_per_socket": (rss_after - rss_before) / max(1, opened),
    }

    for workspace in workspaces:
        workspace.commits.clear()
    sockets.call("clear")
    sockets.call("published")
    sockets.call("lag")
    figures["idle_sockets"] = meter.measured(idle_for(IDLE_SECONDS))
    figures["rest_with_sockets"] = meter.measured(writes)
    time.sleep(2)  # the last pokes arrive
    pokes = sockets.call("pokes")
    published = sockets.call("published")
    figures["client_lag"] = sockets.call("lag")
    to_redis: list[float] = []
    for workspace in workspaces:
        times = [at for at, users in published if workspace.writer_id in users]
        to_redis += [at - commit for commit, at in zip(workspace.commits, times, strict=False)]
    delays: list[float] = []
    series: list[tuple[float, float]] = []  # (commit time, delay): when the slow pokes happened
    expected = received = 0
    for socket_index, workspace_index in workspace_of.items():
        commits = workspaces[workspace_index].commits
        arrivals = pokes.get(socket_index, [])
        expected += len(commits)
        received += len(arrivals)
        delays += [arrival - commit for commit, arrival in zip(commits, arrivals, strict=False)]
        series += [(commit, arrival - commit) for commit, arrival in zip(commits, arrivals, strict=False)]
    figures["poke"] = {
        "sockets_poked": len(workspace_of),
        "expected": expected,
        "received": received,
        "p50_ms": percentile(delays, 50) * 1000,
        "p95_ms": percentile(delays, 95) * 1000,
        "p99_ms": percentile(delays, 99) * 1000,
        "max_ms": max(delays) * 1000 if delays else float("nan"),
        "series": sorted(series),
        "published_p50_ms": percentile(to_redis, 50) * 1000,
        "published_p95_ms": percentile(to_redis, 95) * 1000,
        "published_p99_ms": percentile(to_redis, 99) * 1000,
    }
    sockets.call("close")
    # Once more without sockets: the machine's other load drifts, so the run with sockets is compared with
    # the mean of one before and one after it.
    time.sleep(2)
    figures["rest_without_sockets_after"] = meter.measured(writes)
    sockets.call("exit")
    without = (
        figures["rest_without_sockets"]["per_second"] + figures["rest_without_sockets_after"]["per_second"]
    ) / 2
    figures["rest_ratio"] = figures["rest_with_sockets"]["per_second"] / without

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
        f"  of which commit->published (a subscriber by the sockets): p50 {p['published_p50_ms']:.1f} ms  "
        f"p95 {p['published_p95_ms']:.1f} ms  p99 {p['published_p99_ms']:.1f} ms",
    ]
    phases = (
        ("without sockets", "rest_without_sockets"),
        ("with sockets", "rest_with_sockets"),
        ("without, after", "rest_without_sockets_after"),
    )
    for name, key in phases:
        f = figures[key]
        lines.append(
            f"  POST items {name:16} {f['per_second']:7.1f}/s  p50 {f['p50_ms']:.1f} ms  "
            f"p95 {f['p95_ms']:.1f} ms  p99 {f['p99_ms']:.1f} ms  errors {f['errors']}"
        )
    lines.append("  CPU (% of one core)  gunicorn  ASGI  socket client  | machine busy (% of cores)  load")
    for name, key in (*phases, ("sockets idle", "idle_sockets")):
        f = figures[key]
        lines.append(
            f"    {name:18} {f.get('server_cpu_percent', 0):8.0f}  {f['asgi_cpu_percent']:4.0f}  "
            f"{f['client_cpu_percent']:13.0f}  | {f['machine_busy_percent']:25.0f}  {f['load_average']:.1f}"
        )
    with_sockets, idle = figures["rest_with_sockets"], figures["idle_sockets"]
    per = 1000 * 1000 / max(1, p["received"])  # ms per 1,000 pokes
    lines.append(
        f"  CPU per 1,000 pokes while written to: ASGI {with_sockets['asgi_cpu_seconds'] * per:.0f} ms, "
        f"socket client {with_sockets['client_cpu_seconds'] * per:.0f} ms; per second with the sockets idle: "
        f"ASGI {idle['asgi_cpu_seconds'] / IDLE_SECONDS * 1000:.1f} ms, "
        f"socket client {idle['client_cpu_seconds'] / IDLE_SECONDS * 1000:.1f} ms"
    )
    lag = figures["client_lag"]
    lines.append(
        f"  socket client while written to: loop lag p99 {lag['loop_lag_p99_ms']:.1f} ms, max "
        f"{lag['loop_lag_max_ms']:.1f} ms; GC pauses max {lag['gc_pause_max_ms']:.1f} ms, "
        f"total {lag['gc_pause_total_ms']:.0f} ms"
    )
    lines.append(f"  POST items with sockets / mean of the runs without: {figures['rest_ratio']:.2f}")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
