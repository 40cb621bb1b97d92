"""The load generator of `make bench`: fixed concurrency, fixed time per scenario, one table.

Runs in its own process against a server that `bench/run.sh` started and seeded with `seed_load`. Each of
`--concurrency` threads holds one keep-alive HTTP/1.1 connection and runs the scenario's operation in a
loop; an operation is one request, except the full sync (every page of it). Only the standard library.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

HEAVY_EMAIL = "heavy@load.daymark.invalid"
SYNC_EMAIL = "sync@load.daymark.invalid"
# devdata/management/commands/seed_spaces.py
SPACES_EMAIL = "spaces@load.daymark.invalid"
SOLO_EMAIL = "solo@load.daymark.invalid"
OWNER_EMAIL = "owner@load.daymark.invalid"
MOVER_EMAIL = "mover@load.daymark.invalid"
TEAM_MEMBERS = 7
API = "/api/v1"


class Failed(Exception):
    """The operation got an answer it should not have."""


# The head of a sync page as the server writes it (its keys in this order, no spaces), and an item's change.
_PAGE_HEAD = re.compile(rb'\{"cursor":"([^"\\]+)","has_more":(true|false),"changes":\[')
_ITEM_CHANGE = b'{"type":"item","id":"'


def sync_page(data: bytes) -> tuple[str, bool, int]:
    """A full sync page's cursor, `has_more` and number of items, without parsing the page.

    The generator runs on the server's two cores, and a full sync is 5 MB of JSON: parsing it all took
    the generator about 40 ms of CPU per full sync, CPU the server then lacked (docs/performance.md,
    "A full sync page, cheaper"). A client of ours parses the page on its own device; what the bench needs
    is where to go on and how many items came. An item's change starts with `"type":"item"`, which no
    string value can hold unescaped (JSON escapes its quotes), so the count is exact; a page written in
    any other shape is parsed in full.
    """
    head = _PAGE_HEAD.match(data)
    if head is None:
        page = json.loads(data)
        items = sum(change["type"] == "item" for change in page["changes"])
        return page["cursor"], page["has_more"], items
    return head[1].decode(), head[2] == b"true", data.count(_ITEM_CHANGE)


class Client:
    """One keep-alive connection; JSON in and out."""

    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self.host, self.port, self.token = host, port, token
        self.connection = http.client.HTTPConnection(host, port, timeout=60)
        self.requests = 0

    def call(
        self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200,), raw: bool = False
    ) -> Any:
        """The answer's JSON (`raw`: its bytes)."""
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.connection.request(method, path, body=payload, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
                break
            except (OSError, http.client.HTTPException) as error:
                self.connection.close()
                self.connection = http.client.HTTPConnection(self.host, self.port, timeout=60)
                # A kept-alive connection the server closed while idle (a recycled worker): like any
                # HTTP client, send again once on a new connection.
                closed_idle = isinstance(error, http.client.RemoteDisconnected | ConnectionResetError)
                if attempt == 2 or not closed_idle:
                    raise
        self.requests += 1
        if response.status not in expect:
            raise Failed(f"{method} {path}: {response.status} {data[:300]!r}")
        if raw:
            return data
        return json.loads(data) if data else None

    def fetch(
        self, path: str, headers: dict[str, str], expect: tuple[int, ...]
    ) -> tuple[int, dict[str, str], bytes]:
        """A GET that is not JSON (a calendar feed): status, headers, body."""
        self.connection.request("GET", path, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        self.requests += 1
        if response.status not in expect:
            raise Failed(f"GET {path[:24]}...: {response.status} {data[:300]!r}")
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data


@dataclass
class Result:
    name: str
    operations: int = 0
    requests: int = 0
    errors: int = 0
    seconds: float = 0.0
    latencies: list[float] = field(default_factory=list)
    first_error: str = ""
    # Which load generator ("py": this process's threads, "wrk"), and the CPU it and the server used while
    # measuring, in percent of one core (the machine has os.cpu_count() of them).
    generator: str = "py"
    generator_cpu: float = float("nan")
    server_cpu: float = float("nan")
    # wrk reports percentiles itself (ms); the Python generator's come from `latencies`.
    fixed_percentiles: dict[float, float] = field(default_factory=dict)

    def percentile(self, p: float) -> float:
        if p in self.fixed_percentiles:
            return self.fixed_percentiles[p]
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    @property
    def rate(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0


Operation = Callable[[Client, dict[str, Any]], None]


@dataclass
class Scenario:
    name: str
    operation: Operation
    token: str | None
    setup: Callable[[int], dict[str, Any]] = lambda worker: {}
    # Workers of this scenario when it is not the run's concurrency (a client alone).
    concurrency: int | None = None
    # A token per worker (several accounts at once) instead of `token`.
    tokens: list[str] | None = None
    # Only the first `measured` workers' operations are measured; the others are background load.
    measured: int | None = None
    # Run by wrk instead: the requests it cycles through (each worker starts at its own place).
    wrk: Wrk | None = None


@dataclass
class Wrk:
    """A fixed request, or a fixed cycle of them (one per user of a pool), for wrk and a Lua script."""

    # (path, headers), or what makes them when the scenario starts (a cursor at the head of that moment).
    requests: list[tuple[str, dict[str, str]]] | Callable[[], list[tuple[str, dict[str, str]]]]
    expect: int = 200


def run(scenario: Scenario, host: str, port: int, concurrency: int, warmup: float, duration: float) -> Result:
    result = Result(scenario.name)
    lock = threading.Lock()
    start_barrier = threading.Barrier(concurrency + 1)
    phase = {"measure_from": 0.0, "stop_at": 0.0}

    # Setup runs here, one worker after another (it may share a connection), before any load starts.
    states = [scenario.setup(index) for index in range(concurrency)]

    def worker(index: int) -> None:
        client = Client(host, port, scenario.tokens[index] if scenario.tokens else scenario.token)
        state = states[index]
        start_barrier.wait()
        while True:
            started = time.perf_counter()
            if started >= phase["stop_at"]:
                break
            before = client.requests
            error = ""
            try:
                scenario.operation(client, state)
            except Exception as failure:  # any failure is an error of the scenario
                error = f"{type(failure).__name__}: {failure}"
            elapsed = time.perf_counter() - started
            if started < phase["measure_from"] or (
                scenario.measured is not None and index >= scenario.measured
            ):
                continue
            with lock:
                result.requests += client.requests - before
                if error:
                    result.errors += 1
                    result.first_error = result.first_error or error
                else:
                    result.operations += 1
                    result.latencies.append(elapsed)

    threads = [threading.Thread(target=worker, args=(n,), daemon=True) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    now = time.perf_counter()
    phase["measure_from"] = now + warmup
    phase["stop_at"] = now + warmup + duration
    start_barrier.wait()
    time.sleep(max(0.0, phase["measure_from"] - time.perf_counter()))
    cpu = CpuMeter()
    time.sleep(max(0.0, phase["stop_at"] - time.perf_counter()))
    result.generator_cpu, result.server_cpu = cpu.read(duration, time.process_time())
    for thread in threads:
        thread.join()
    result.seconds = duration
    return result


SERVER_PIDS: list[int] = []


def _tree(root: int) -> list[int]:
    """`root` and its descendants (gunicorn's master and workers)."""
    found, pending = [], [root]
    while pending:
        pid = pending.pop()
        found.append(pid)
        for path in Path(f"/proc/{pid}/task").glob("*/children"):
            with suppress(OSError):
                pending += [int(child) for child in path.read_text().split()]
    return found


def _process_cpu(pid: int) -> float:
    """CPU seconds (user and system) a process has used, from /proc (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """The server's CPU (every process under the pids of --server-pid) and this process's, from now."""

    def __init__(self) -> None:
        self.server = self._server()
        self.own = time.process_time()
        self.children = _children_cpu()

    @staticmethod
    def _server() -> dict[int, float]:
        return {pid: _process_cpu(pid) for root in SERVER_PIDS for pid in _tree(root)}

    def read(self, seconds: float, generator_now: float | None = None) -> tuple[float, float]:
        """(generator, server) CPU in percent of one core over `seconds`; the generator is this process
        unless the caller measured another (wrk) and passes it as `generator_now - self.own`."""
        now = self._server()
        server = sum(cpu - self.server.get(pid, 0.0) for pid, cpu in now.items())
        generator = (generator_now if generator_now is not None else time.process_time()) - self.own
        if not SERVER_PIDS:
            server = float("nan")
        return 100 * generator / seconds, 100 * server / seconds


WRK_SCRIPT = """
local specs = {SPECS}
local expect = {EXPECT}
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  prepared = {}
  for i, spec in ipairs(specs) do
    prepared[i] = wrk.format("GET", spec[1], spec[2])
  end
  counter = tonumber(args[1] or "0")
  bad = 0
  first = ""
end
function request()
  counter = counter + 1
  return prepared[(counter % #prepared) + 1]
end
function response(status, headers, body)
  if status ~= expect then
    bad = bad + 1
    if first == "" then first = status .. " " .. string.sub(body or "", 1, 200) end
  end
end
function done(summary, latency, requests)
  local failed, first_error = 0, ""
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("bad")
    if first_error == "" then first_error = thread:get("first") end
  end
  local e = summary.errors
  first_error = string.gsub(first_error, "[^%w %-_:.,/]", "")
  io.write(string.format(
    "\\nWRK {\\"requests\\": %d, \\"seconds\\": %f, \\"p50\\": %f, \\"p95\\": %f, \\"p99\\": %f, "
    .. "\\"bad\\": %d, \\"socket_errors\\": %d, \\"first\\": \\"%s\\"}\\n",
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(95) / 1000,
    latency:percentile(99) / 1000, failed, e.connect + e.read + e.write + e.timeout, first_error))
end
"""


def _lua(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"[{_lua(k)}] = {_lua(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "{" + ", ".join(_lua(v) for v in value) + "}"
    if isinstance(value, int):
        return str(value)
    return json.dumps(str(value))


def run_wrk(
    scenario: Scenario, host: str, port: int, concurrency: int, warmup: float, duration: float
) -> Result:
    """The scenario's requests through wrk (one thread, `concurrency` connections): a warmup run, then the
    measured one, whose CPU is read from its rusage."""
    assert scenario.wrk is not None
    result = Result(scenario.name, generator="wrk")
    requests = scenario.wrk.requests
    requests = requests() if callable(requests) else requests
    specs = [[path, {"Accept": "application/json", **headers}] for path, headers in requests]
    script = WRK_SCRIPT.replace("{SPECS}", _lua(specs)).replace("{EXPECT}", str(scenario.wrk.expect))
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    try:
        base = [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            "--timeout",
            "30s",
            "-s",
            handle.name,
            f"http://{host}:{port}/",
        ]
        if warmup > 0:
            subprocess.run(
                [*base[:1], f"-d{max(1, round(warmup))}s", *base[1:]], capture_output=True, check=True
            )
        cpu = CpuMeter()
        process = subprocess.Popen(
            [*base[:1], f"-d{max(1, round(duration))}s", *base[1:]], stdout=subprocess.PIPE, text=True
        )
        output, _ = process.communicate()
        line = next((x for x in output.splitlines() if x.startswith("WRK ")), None)
        if line is None:
            raise Failed(f"wrk said: {output[-300:]}")
        figures = json.loads(line[4:])
        seconds = figures["seconds"] or duration
        wrk_cpu = _children_cpu() - cpu.children
        result.generator_cpu, result.server_cpu = cpu.read(seconds, cpu.own + wrk_cpu)
    finally:
        os.unlink(handle.name)
    errors = figures["bad"] + figures["socket_errors"]
    result.requests = figures["requests"]
    result.operations = figures["requests"] - errors
    result.errors = errors
    result.first_error = figures["first"] or ("socket errors" if figures["socket_errors"] else "")
    result.seconds = seconds
    result.fixed_percentiles = {50: figures["p50"], 95: figures["p95"], 99: figures["p99"]}
    return result


# The ratio targets' scenarios: measured again by wrk in turns (see `interleaved`).
INTERLEAVED = (
    "bare JSON",
    "ref: items page, values",
    "ref: items page, naive",
    "items page (GET",
    "incremental sync (10",
)


def interleaved(
    scenarios: list[Scenario], host: str, port: int, concurrency: int, rounds: int, seconds: float
) -> list[Result]:
    """The ratio targets' scenarios by wrk, taking turns of `seconds` for `rounds` rounds: load from
    outside the bench that changes during the run falls on a scenario and its references alike (run one
    after the other for 10 s each, a change of the machine's load between them shows as a ratio)."""
    chosen = [s for s in scenarios if s.wrk and any(s.name.startswith(p) for p in INTERLEAVED)]
    fixed = []
    for scenario in chosen:
        assert scenario.wrk is not None
        requests = scenario.wrk.requests
        fixed.append(
            replace(scenario, wrk=Wrk(requests() if callable(requests) else requests, scenario.wrk.expect))
        )
    totals = {s.name: Result(f"{s.name}, in turns", generator="turn") for s in fixed}
    slices: dict[str, list[Result]] = {s.name: [] for s in fixed}
    for _ in range(rounds):
        for scenario in fixed:
            one = run_wrk(scenario, host, port, concurrency, 0, seconds)
            slices[scenario.name].append(one)
            total = totals[scenario.name]
            total.requests += one.requests
            total.operations += one.operations
            total.errors += one.errors
            total.seconds += one.seconds
            total.first_error = total.first_error or one.first_error
    for name, total in totals.items():
        parts = slices[name]
        total.fixed_percentiles = {p: statistics.median(r.percentile(p) for r in parts) for p in (50, 95, 99)}
        total.generator_cpu = statistics.mean(r.generator_cpu for r in parts)
        total.server_cpu = statistics.mean(r.server_cpu for r in parts)
    return list(totals.values())


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# --- the scenarios -----------------------------------------------------------------------------------------


def login(host: str, port: int, email: str, password: str) -> str:
    answer = Client(host, port).call("POST", f"{API}/auth/token", {"email": email, "password": password})
    return str(answer["access"])


def find_head(client: Client) -> int:
    """The user's current change number, found through the API: a cursor above it is a 400."""
    low, high = 0, 1 << 40
    while low < high:
        middle = (low + high + 1) // 2
        try:
            client.call("GET", f"{API}/sync?cursor={middle}&limit=1")
            low = middle
        except Failed:
            high = middle - 1
    return low


def build(args: argparse.Namespace, host: str, port: int) -> list[Scenario]:
    with open(args.tokens) as source:
        minted = json.load(source)  # devdata's load_tokens
    heavy = str(minted["heavy"]["access"])
    sync_tokens = [str(entry["access"]) for entry in minted["sync"]]
    sync_token = sync_tokens[0]
    light: list[dict[str, str]] = minted["light"][: args.pool]
    admin = Client(host, port, heavy)
    lists = [row["id"] for row in admin.call("GET", f"{API}/lists?limit=200")["results"]]
    today = datetime.now(UTC).date()
    counter = iter(range(1 << 62))

    def page(prefix: str) -> Operation:
        def operation(client: Client, state: dict[str, Any]) -> None:
            state["n"] = state.get("n", 0) + 1
            answer = client.call("GET", f"{prefix}?list={lists[state['n'] % len(lists)]}")
            if len(answer["results"]) != 50:
                raise Failed(f"a page of {len(answer['results'])} items")

        return operation

    def bare(client: Client, state: dict[str, Any]) -> None:
        client.call("GET", "/bench/ref/bare")

    def create(client: Client, state: dict[str, Any]) -> None:
        body = {"list": lists[state["worker"] % len(lists)], "title": f"bench {next(counter)}"}
        client.call("POST", f"{API}/items", body, expect=(201,))

    def own_items(worker: int) -> dict[str, Any]:
        answer = admin.call("GET", f"{API}/items?list={lists[worker % len(lists)]}&status=open&limit=200")
        return {"worker": worker, "items": {row["id"]: row["version"] for row in answer["results"]}, "n": 0}

    def patch(client: Client, state: dict[str, Any]) -> None:
        ids = list(state["items"])
        item_id = ids[state["n"] % len(ids)]
        state["n"] += 1
        body = {"title": f"edited {next(counter)}", "version": state["items"][item_id]}
        answer = client.call("PATCH", f"{API}/items/{item_id}", body)
        state["items"][item_id] = answer["version"]

    heads: dict[str, int] = {}

    def incremental_setup(worker: int) -> dict[str, Any]:
        if "head" not in heads:
            heads["head"] = find_head(admin)
        return {"cursor": max(0, heads["head"] - 10)}

    def incremental(client: Client, state: dict[str, Any]) -> None:
        answer = client.call("GET", f"{API}/sync?cursor={state['cursor']}")
        if not 1 <= len(answer["changes"]) <= 10 or answer["has_more"]:
            raise Failed(f"{len(answer['changes'])} changes")

    def full_sync(client: Client, state: dict[str, Any]) -> None:
        path = f"{API}/sync"
        items = 0
        while True:
            cursor, has_more, page_items = sync_page(client.call("GET", path, raw=True))
            items += page_items
            if not has_more:
                break
            path = f"{API}/sync?cursor={cursor}"
        if items != args.full_sync_items:
            raise Failed(f"a full sync of {items} items")

    def push_setup(worker: int) -> dict[str, Any]:
        if "push" not in heads:
            heads["push"] = find_head(admin)
        return {"worker": worker, "cursor": heads["push"]}

    def push(client: Client, state: dict[str, Any]) -> None:
        list_id = lists[state["worker"] % len(lists)]
        ids = [str(uuid.uuid4()) for _ in range(25)]
        operations = [
            {
                "op_id": str(uuid.uuid4()),
                "type": "item",
                "action": "create",
                "id": i,
                "data": {"list": list_id, "title": "pushed"},
            }
            for i in ids
        ] + [
            {
                "op_id": str(uuid.uuid4()),
                "type": "item",
                "action": "update",
                "id": i,
                "version": 1,
                "data": {"title": "pushed and edited"},
            }
            for i in ids
        ]
        answer = client.call("POST", f"{API}/sync", {"cursor": state["cursor"], "operations": operations})
        statuses = {result["status"] for result in answer["results"]}
        if statuses != {"applied"}:
            raise Failed(f"push results {statuses}")
        state["cursor"] = answer["cursor"]

    def insights(client: Client, state: dict[str, Any]) -> None:
        first = today - timedelta(days=364)
        answer = client.call("GET", f"{API}/user/insights?from={first}&to={today}")
        if answer["items"]["completed"] < 1:
            raise Failed("no completions")

    def generate(client: Client, state: dict[str, Any]) -> None:
        day = today + timedelta(days=1 + state["worker"])
        client.call(
            "POST", f"{API}/focus-card/generate", {"date": str(day), "regenerate": True}, expect=(200, 201)
        )

    # Words of seed_load's titles (each in about a quarter of the heavy user's 110,000 items): common
    # words, two and three words, a phrase, an exclusion and a short prefix, the hardest cases for ranking.
    queries = ["review", "plan draft", '"call review"', "send -buy", "rea", "clean check book", "fix wri"]

    def search(client: Client, state: dict[str, Any]) -> None:
        state["n"] = state.get("n", 0) + 1
        q = quote(queries[(state["n"] + state.get("worker", 0)) % len(queries)])
        answer = client.call("GET", f"{API}/search?q={q}")
        if len(answer["results"]) != 20:
            raise Failed(f"{len(answer['results'])} results for {q}")

    # The filter within one list (200 items, or 50 in the short mode): queries each list has matches for.
    page_queries = ["review", "plan", "send -buy", "rea", "fix"]

    def search_page(client: Client, state: dict[str, Any]) -> None:
        state["n"] = state.get("n", 0) + 1
        q = quote(page_queries[(state["n"] + state.get("worker", 0)) % len(page_queries)])
        answer = client.call("GET", f"{API}/items?q={q}&list={lists[state['n'] % len(lists)]}")
        if not answer["results"]:
            raise Failed(f"no items for {q}")

    # --- the same operations spread over the light users (each operation by the next user of the pool) ---
    def spread(operation: Callable[[Client, dict[str, str], dict[str, Any]], None]) -> Operation:
        def run_as_user(client: Client, state: dict[str, Any]) -> None:
            state["n"] = state.get("n", 0) + 1
            user = light[(state["worker"] * 131 + state["n"]) % len(light)]
            client.token = user["access"]
            operation(client, user, state)

        return run_as_user

    def light_page(client: Client, user: dict[str, str], state: dict[str, Any]) -> None:
        if not client.call("GET", f"{API}/items?list={user['list']}")["results"]:
            raise Failed("an empty page")

    cursors: dict[str, str] = {}

    def light_cursors(worker: int) -> dict[str, Any]:
        """Each light user's cursor at its head (a full sync each, once, before the scenario)."""
        if not cursors:
            for user in light:
                client = Client(host, port, user["access"])
                answer: dict[str, Any] = {"has_more": True, "cursor": ""}
                while answer["has_more"]:
                    answer = client.call("GET", f"{API}/sync?limit=1000&cursor={answer['cursor']}")
                cursors[user["email"]] = answer["cursor"]
        return {"worker": worker}

    def light_incremental(client: Client, user: dict[str, str], state: dict[str, Any]) -> None:
        answer = client.call("GET", f"{API}/sync?cursor={cursors[user['email']]}")
        if answer["has_more"]:
            raise Failed("more than a page behind")

    def light_insights(client: Client, user: dict[str, str], state: dict[str, Any]) -> None:
        first = today - timedelta(days=364)
        client.call("GET", f"{API}/user/insights?from={first}&to={today}")

    def light_search(client: Client, user: dict[str, str], state: dict[str, Any]) -> None:
        client.call("GET", f"{API}/search?q={quote(queries[state['n'] % len(queries)])}")

    def own_list(worker: int) -> dict[str, Any]:
        return {"worker": worker, "list": light[worker % len(light)]["list"], "cursor": None}

    def push_own(client: Client, state: dict[str, Any]) -> None:
        """50 operations (25 creates, 25 updates of them) into the worker's own user's list."""
        ids = [str(uuid.uuid4()) for _ in range(25)]
        operations = [
            {"op_id": str(uuid.uuid4()), "type": "item", "action": "create", "id": i,
             "data": {"list": state["list"], "title": "pushed"}}
            for i in ids
        ] + [
            {"op_id": str(uuid.uuid4()), "type": "item", "action": "update", "id": i, "version": 1,
             "data": {"title": "pushed and edited"}}
            for i in ids
        ]  # fmt: skip
        body: dict[str, Any] = {"operations": operations}
        if state["cursor"]:
            body["cursor"] = state["cursor"]
        answer = client.call("POST", f"{API}/sync", body)
        statuses = {result["status"] for result in answer["results"]}
        if statuses != {"applied"}:
            raise Failed(f"push results {statuses}")
        state["cursor"] = answer["cursor"]

    # --- wrk: fixed requests (a cycle of them) ---------------------------------------------------------
    def auth(token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {token}"}

    def wrk_pages(prefix: str) -> Wrk:
        return Wrk([(f"{prefix}?list={list_id}", auth(heavy)) for list_id in lists])

    def wrk_incremental() -> list[tuple[str, dict[str, str]]]:
        head = find_head(admin)
        return [(f"{API}/sync?cursor={max(0, head - 10)}", auth(heavy))]

    def wrk_light_incremental() -> list[tuple[str, dict[str, str]]]:
        light_cursors(0)
        return [(f"{API}/sync?cursor={cursors[u['email']]}", auth(u["access"])) for u in light]

    year = f"from={today - timedelta(days=364)}&to={today}"
    spaces = _spaces_scenarios(args, host, port)
    calendars = _calendar_scenarios(args, host, port)
    worker_state: Callable[[int], dict[str, Any]] = lambda worker: {"worker": worker}  # noqa: E731
    users = f"{len(light):,} users"
    return [
        # The references and the items page: each by both generators (their CPU compared in the table).
        Scenario("bare JSON view (ceiling)", bare, None),
        Scenario("bare JSON view (ceiling)", bare, None, wrk=Wrk([("/bench/ref/bare", {})])),
        Scenario("ref: items page, values()+JSON", page("/bench/ref/items-values"), heavy),
        Scenario("ref: items page, values()+JSON", bare, None, wrk=wrk_pages("/bench/ref/items-values")),
        Scenario("ref: items page, naive DRF", page("/bench/ref/items-naive"), heavy),
        Scenario("ref: items page, naive DRF", bare, None, wrk=wrk_pages("/bench/ref/items-naive")),
        Scenario("items page (GET items?list=)", page(f"{API}/items"), heavy),
        Scenario("items page (GET items?list=)", bare, None, wrk=wrk_pages(f"{API}/items")),
        Scenario(f"items page, {users}", spread(light_page), None, worker_state),
        Scenario(
            f"items page, {users}",
            bare,
            None,
            wrk=Wrk([(f"{API}/items?list={u['list']}", auth(u["access"])) for u in light]),
        ),
        Scenario("incremental sync (10 changes)", incremental, heavy, incremental_setup),
        Scenario("incremental sync (10 changes)", bare, None, wrk=Wrk(wrk_incremental)),
        Scenario(f"incremental sync, {users}", spread(light_incremental), None, light_cursors),
        Scenario(f"incremental sync, {users}", bare, None, wrk=Wrk(wrk_light_incremental)),
        Scenario("full sync, one client alone", full_sync, sync_token, concurrency=1),
        Scenario(f"full sync, {len(sync_tokens)} users at once", full_sync, None, tokens=sync_tokens),
        Scenario("insights (365 days)", insights, heavy),
        Scenario("insights (365 days)", bare, None, wrk=Wrk([(f"{API}/user/insights?{year}", auth(heavy))])),
        Scenario(f"insights, {users}", spread(light_insights), None, worker_state),
        Scenario("create item", create, heavy, worker_state),
        Scenario("PATCH item with version", patch, heavy, own_items),
        Scenario(
            "push 50 ops, 8 users at once", push_own, None, own_list, tokens=[u["access"] for u in light]
        ),
        # Reported apart: 8 devices of one user, whose writes the sync lock serialises by design
        # (docs/architecture.md, "The write path and the feed"): a push waits for the others, so its
        # latency is about 8 pushes. One client alone measures the push itself.
        Scenario("push 50 ops, 8 devices of one user", push, heavy, push_setup),
        Scenario("push 50 ops, one client alone", push, heavy, push_setup, concurrency=1),
        Scenario("focus-card generate", generate, heavy, worker_state),
        Scenario("search (110,000 items)", search, heavy, worker_state),
        Scenario(
            "search (110,000 items)",
            bare,
            None,
            wrk=Wrk([(f"{API}/search?q={quote(q)}", auth(heavy)) for q in queries]),
        ),
        Scenario("search, one client alone", search, heavy, worker_state, concurrency=1),
        Scenario(f"search, {users}", spread(light_search), None, worker_state),
        Scenario("items q filter (one list)", search_page, heavy, worker_state),
        *spaces,
        *calendars,
    ]


def _spaces_scenarios(args: argparse.Namespace, host: str, port: int) -> list[Scenario]:
    """The workspaces scenarios (data: devdata's seed_spaces)."""
    tokens = {
        email: login(host, port, email, args.password)
        for email in (SPACES_EMAIL, SOLO_EMAIL, OWNER_EMAIL, MOVER_EMAIL)
    }
    members = [tokens[OWNER_EMAIL]] + [
        login(host, port, f"member{n}@load.daymark.invalid", args.password)
        for n in range(1, TEAM_MEMBERS + 1)
    ]
    counter = iter(range(1 << 62))

    def ten_behind(token: str) -> dict[str, Any]:
        """A cursor 10 changes behind: a full sync, then one item edited in each of 10 lists (for the
        workspace member, in 10 workspaces)."""
        client = Client(host, port, token)
        answer: dict[str, Any] = {"has_more": True, "cursor": ""}
        changes: list[dict[str, Any]] = []
        while answer["has_more"]:
            answer = client.call("GET", f"{API}/sync?limit=1000&cursor={answer['cursor']}")
            changes += answer["changes"]
        cursor = answer["cursor"]
        lists = [c["id"] for c in changes if c["type"] == "list" and c["data"]["workspace"]]
        lists = lists or [c["id"] for c in changes if c["type"] == "list"]
        for list_id in lists[:10]:
            item = next(c for c in changes if c["type"] == "item" and c["data"]["list"] == list_id)
            body = {"title": f"edited {next(counter)}", "version": item["version"]}
            client.call("PATCH", f"{API}/items/{item['id']}", body)
        return {"cursor": cursor}

    behind: dict[str, dict[str, Any]] = {}

    def incremental_of(email: str) -> Callable[[int], dict[str, Any]]:
        def setup(worker: int) -> dict[str, Any]:
            if email not in behind:
                behind[email] = ten_behind(tokens[email])
            return behind[email]

        return setup

    def incremental(client: Client, state: dict[str, Any]) -> None:
        answer = client.call("GET", f"{API}/sync?cursor={state['cursor']}")
        if len(answer["changes"]) != 10 or answer["has_more"]:
            raise Failed(f"{len(answer['changes'])} changes")

    team: dict[str, Any] = {}

    def team_setup(worker: int) -> dict[str, Any]:
        client = Client(host, port, members[worker % len(members)])
        if not team:
            workspace = next(
                w for w in client.call("GET", f"{API}/workspaces")["results"] if w["name"] == "Team"
            )
            team["list"] = client.call("GET", f"{API}/lists?workspace={workspace['id']}")["results"][0]["id"]
        answer = client.call("GET", f"{API}/sync?limit=1000")
        while answer["has_more"]:
            answer = client.call("GET", f"{API}/sync?limit=1000&cursor={answer['cursor']}")
        return {"worker": worker, "cursor": answer["cursor"]}

    def push_team(client: Client, state: dict[str, Any]) -> None:
        """Worker 0 (measured) pushes 50 operations into the team's list; the 7 others push 5 creates and
        pull, as members working at the same time."""
        size = 25 if state["worker"] == 0 else 5
        ids = [str(uuid.uuid4()) for _ in range(size)]
        operations: list[dict[str, Any]] = [
            {
                "op_id": str(uuid.uuid4()),
                "type": "item",
                "action": "create",
                "id": i,
                "data": {"list": team["list"], "title": "pushed"},
            }
            for i in ids
        ]
        if state["worker"] == 0:
            operations += [
                {
                    "op_id": str(uuid.uuid4()),
                    "type": "item",
                    "action": "update",
                    "id": i,
                    "version": 1,
                    "data": {"title": "pushed and edited"},
                }
                for i in ids
            ]
        answer = client.call("POST", f"{API}/sync", {"cursor": state["cursor"], "operations": operations})
        statuses = {result["status"] for result in answer["results"]}
        if statuses != {"applied"}:
            raise Failed(f"push results {statuses}")
        state["cursor"] = answer["cursor"]
        while answer["has_more"]:
            answer = client.call("GET", f"{API}/sync?cursor={state['cursor']}")
            state["cursor"] = answer["cursor"]

    def move_setup(worker: int) -> dict[str, Any]:
        client = Client(host, port, tokens[MOVER_EMAIL])
        workspace = client.call("GET", f"{API}/workspaces")["results"][0]["id"]
        lst = next(r for r in client.call("GET", f"{API}/lists")["results"] if r["name"] == "Moving")
        return {
            "workspace": workspace,
            "list": lst["id"],
            "version": lst["version"],
            "into": lst["workspace"],
        }

    def move(client: Client, state: dict[str, Any]) -> None:
        """The 1,000-item list moves into the workspace, and on the next operation back out."""
        target = None if state["into"] else state["workspace"]
        body = {"workspace": target, "version": state["version"]}
        answer = client.call("PATCH", f"{API}/lists/{state['list']}", body)
        state["version"], state["into"] = answer["version"], answer["workspace"]

    return [
        Scenario(
            "incremental sync, personal only", incremental, tokens[SOLO_EMAIL], incremental_of(SOLO_EMAIL)
        ),
        Scenario(
            "incremental sync, 20 workspaces", incremental, tokens[SPACES_EMAIL], incremental_of(SPACES_EMAIL)
        ),
        Scenario("push 50 ops into a workspace", push_team, None, team_setup, tokens=members, measured=1),
        # The same push with nobody else writing in the workspace.
        Scenario(
            "push 50 ops into a workspace, alone", push_team, None, team_setup, tokens=members, concurrency=1
        ),
        Scenario("move a list of 1,000 items", move, tokens[MOVER_EMAIL], move_setup, concurrency=1),
    ]


CALENDAR_EMAIL = "calendar@load.daymark.invalid"
CALENDAR_ITEMS = 1000


def _calendar_scenarios(args: argparse.Namespace, host: str, port: int) -> list[Scenario]:
    """A calendar feed of 1,000 open dated items (docs/api/calendar-feeds.md): an account registered here,
    in Europe/Berlin (so the feed carries a VTIMEZONE), its items pushed 100 at a time: every other one at
    a due time, one in ten with notes, one in twenty recurring."""
    answer = Client(host, port).call(
        "POST",
        f"{API}/auth/register",
        {"email": CALENDAR_EMAIL, "password": args.password, "timezone": "Europe/Berlin"},
        expect=(201,),
    )
    owner = Client(host, port, answer["access"])
    list_id = owner.call("POST", f"{API}/lists", {"name": "Calendar"}, expect=(201,))["id"]
    # An undated item (not in the feed) shows which item fields this server has.
    fields = set(owner.call("POST", f"{API}/items", {"list": list_id, "title": "probe"}, expect=(201,)))
    start = datetime.now(UTC).date()
    cursor: str | None = None
    for batch in range(CALENDAR_ITEMS // 100):
        operations = []
        for n in range(batch * 100, batch * 100 + 100):
            data: dict[str, Any] = {
                "list": list_id,
                "title": f"Calendar item {n}: call, write; plan",
                "due_date": str(start + timedelta(days=n % 365)),
            }
            if n % 2 and "due_time" in fields:
                data["due_time"] = f"{8 + n % 10:02d}:{(n * 7) % 60:02d}"
            if n % 10 == 0:
                data["notes"] = "Notes of the item, long enough to be folded over two lines of the calendar."
            if n % 20 == 0 and "recurrence" in fields:
                data["recurrence"] = {"rule": "FREQ=WEEKLY;BYDAY=MO,TH;COUNT=20", "mode": "schedule"}
            operations.append(
                {
                    "op_id": str(uuid.uuid4()),
                    "type": "item",
                    "action": "create",
                    "id": str(uuid.uuid4()),
                    "data": data,
                }
            )
        body: dict[str, Any] = {"operations": operations}
        if cursor:
            body["cursor"] = cursor
        pushed = owner.call("POST", f"{API}/sync", body)
        if {result["status"] for result in pushed["results"]} != {"applied"}:
            raise Failed(f"calendar items: {pushed['results'][0]}")
        cursor = pushed["cursor"]
    url = owner.call("POST", f"{API}/user/calendar-feeds", {}, expect=(201,))["url"]
    path = urlsplit(url).path
    etag: dict[str, str] = {}

    def whole(client: Client, state: dict[str, Any]) -> None:
        _, headers, body = client.fetch(path, {}, expect=(200,))
        if body.count(b"BEGIN:VEVENT") != CALENDAR_ITEMS:
            raise Failed(f"{body.count(b'BEGIN:VEVENT')} events")
        etag["value"] = headers["etag"]

    def unchanged(client: Client, state: dict[str, Any]) -> None:
        if "value" not in etag:
            whole(client, state)
        client.fetch(path, {"If-None-Match": etag["value"]}, expect=(304,))

    def conditional() -> list[tuple[str, dict[str, str]]]:
        _, headers, _ = Client(host, port).fetch(path, {}, expect=(200,))
        return [(path, {"If-None-Match": headers["etag"]})]

    return [
        Scenario("calendar feed (1,000 items)", whole, None),
        Scenario("calendar feed (1,000 items)", whole, None, wrk=Wrk([(path, {})])),
        Scenario("calendar feed, one client alone", whole, None, concurrency=1),
        Scenario("calendar feed unchanged (304)", unchanged, None),
        Scenario("calendar feed unchanged (304)", unchanged, None, wrk=Wrk(conditional, expect=304)),
    ]


# --- the table ---------------------------------------------------------------------------------------------


def _find(results: list[Result], prefix: str, generator: str | None = None) -> Result | None:
    """The scenario named so (by prefix): its turns by wrk ("turn") when they ran, else wrk's run
    (wrk leaves the server the CPU), else the Python generator's."""
    found = [r for r in results if r.name.startswith(prefix) and generator in (None, r.generator)]
    turns = [r for r in found if r.generator == "turn"]
    return next(iter(turns), next((r for r in found if r.generator == "wrk"), found[0] if found else None))


def _targets(results: list[Result]) -> list[tuple[str, str, bool | None]]:
    """(what, figure, met): None when a scenario it needs did not run."""
    out: list[tuple[str, str, bool | None]] = []

    def ratio(label: str, ours: str, reference: str, minimum: float) -> None:
        a, b = _find(results, ours), _find(results, reference)
        if a is None or b is None or not b.rate or a.generator != b.generator:
            out.append((label, "-", None))
            return
        out.append((label, f"{a.rate / b.rate:.2f}x ({a.generator})", a.rate >= minimum * b.rate))

    def p95(label: str, prefix: str, limit_ms: float) -> None:
        r = _find(results, prefix)
        out.append(
            (label, "-", None)
            if r is None
            else (label, f"{r.percentile(95):.1f} ms", r.percentile(95) < limit_ms)
        )

    ratio("items page >= 2.5x naive DRF", "items page (GET", "ref: items page, naive", 2.5)
    ratio("items page >= 1.0x values()", "items page (GET", "ref: items page, values", 1.0)
    ratio("items page >= 0.33x bare view", "items page (GET", "bare JSON", 0.33)
    incremental, bare = _find(results, "incremental sync (10"), _find(results, "bare JSON")
    if incremental and bare and incremental.generator == bare.generator:
        times = incremental.percentile(95) / bare.percentile(95)
        out.append(("incremental sync p95 < 2x bare view's", f"{times:.2f}x ({bare.generator})", times < 2))
    else:
        out.append(("incremental sync p95 < 2x bare view's", "-", None))
    p95("push 50 ops, 8 users at once p95 < 300 ms", "push 50 ops, 8 users", 300)
    p95("full sync, one client p95 < 500 ms", "full sync, one client", 500)
    p95("full sync, 8 users at once p95 < 1.5 s", "full sync, 8 users", 1500)
    p95("insights p95 < 50 ms", "insights (365", 50)
    p95("search p95 < 50 ms", "search (110", 50)
    p95("calendar feed, one client p95 < 200 ms", "calendar feed, one client", 200)
    p95("move a list of 1,000 items < 1 s", "move a list", 1000)
    spaces, solo = (
        _find(results, "incremental sync, 20 workspaces"),
        _find(results, "incremental sync, personal"),
    )
    if spaces and solo:
        ok = spaces.percentile(50) <= 1.5 * solo.percentile(50) and spaces.percentile(
            95
        ) <= 1.5 * solo.percentile(95)
        out.append(
            (
                "incremental sync, 20 workspaces within 1.5x personal",
                f"{spaces.percentile(50) / solo.percentile(50):.2f}x p50, "
                f"{spaces.percentile(95) / solo.percentile(95):.2f}x p95",
                ok,
            )
        )
    errors = sum(r.errors for r in results)
    out.append(("zero errors in every scenario", f"{errors} errors", errors == 0))
    return out


def table(results: list[Result], concurrency: int) -> str:
    lines = [
        f"concurrency {concurrency} (unless the name says otherwise); latency in ms (full sync: all pages of "
        f"one); CPU in % of one core of {os.cpu_count()} (gen: the load generator, srv: gunicorn)",
        "",
        f"{'scenario':<42} {'gen':>4} {'requests':>8} {'ops/s':>8} {'p50':>7} {'p95':>7} {'p99':>7} "
        f"{'errors':>6} {'genCPU':>6} {'srvCPU':>6}",
        "-" * 110,
    ]
    for r in results:
        lines.append(
            f"{r.name[:42]:<42} {r.generator:>4} {r.requests:>8} {r.rate:>8.1f} {r.percentile(50):>7.1f} "
            f"{r.percentile(95):>7.1f} {r.percentile(99):>7.1f} {r.errors:>6} {r.generator_cpu:>6.0f} "
            f"{r.server_cpu:>6.0f}"
        )
    lines.append("")
    lines.append("items page, requests/s as a ratio to the references (same generator):")
    for generator in ("py", "wrk", "turn"):
        ours = _find(results, "items page (GET", generator)
        for label, prefix in (
            ("naive DRF", "ref: items page, naive"),
            ("values()+JSON", "ref: items page, values"),
            ("bare JSON view", "bare JSON"),
        ):
            reference = _find(results, prefix, generator)
            if ours and reference and reference.rate and ours.generator == reference.generator == generator:
                lines.append(f"  {generator:>4} vs {label:<16} {ours.rate / reference.rate:5.2f}x")
    lines.append("")
    lines.append("targets:")
    for label, figure, met in _targets(results):
        verdict = "-" if met is None else ("met" if met else "NOT MET")
        lines.append(f"  {label:<54} {figure:<22} {verdict}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", default="http://127.0.0.1:19080")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--duration", type=float, default=10.0, help="Measured seconds per scenario.")
    parser.add_argument("--warmup", type=float, default=2.0, help="Unmeasured seconds before each.")
    parser.add_argument("--only", default="", help="Comma-separated scenario name prefixes to run.")
    parser.add_argument("--password", default="load-test-password")
    parser.add_argument("--heavy-email", default=HEAVY_EMAIL)
    parser.add_argument("--sync-email", default=SYNC_EMAIL)
    parser.add_argument("--full-sync-items", type=int, default=10_000)
    parser.add_argument("--tokens", required=True, help="The JSON of devdata's load_tokens.")
    parser.add_argument("--pool", type=int, default=1000, help="Light users the spread scenarios use.")
    parser.add_argument("--server-pid", type=int, action="append", default=[], help="Whose CPU to count.")
    parser.add_argument("--no-wrk", action="store_true", help="Only the Python generator.")
    parser.add_argument(
        "--turns", type=int, default=5, help="Rounds of the ratio scenarios in turns (0: none)."
    )
    parser.add_argument("--turn-seconds", type=float, default=2.0, help="Seconds of each turn.")
    parser.add_argument("--json", default="", help="Also write the figures to this file.")
    args = parser.parse_args()
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    SERVER_PIDS.extend(args.server_pid)

    print(f"[{datetime.now(UTC):%H:%M:%S}] setting up the scenarios", file=sys.stderr, flush=True)
    scenarios = build(args, host, port)
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        scenarios = [s for s in scenarios if any(s.name.startswith(w) for w in wanted)]
    if args.no_wrk or shutil.which("wrk") is None:
        print("wrk: not used (--no-wrk, or not installed)", file=sys.stderr)
        scenarios = [s for s in scenarios if s.wrk is None]
    results = []
    for scenario in scenarios:
        print(
            f"[{datetime.now(UTC):%H:%M:%S}] running {scenario.name} ({'wrk' if scenario.wrk else 'py'}) ...",
            file=sys.stderr,
            flush=True,
        )
        concurrency = scenario.concurrency or args.concurrency
        runner = run_wrk if scenario.wrk else run
        try:
            result = runner(scenario, host, port, concurrency, args.warmup, args.duration)
        except Exception as failure:  # a scenario that cannot start is an error of that scenario
            result = Result(scenario.name, errors=1, first_error=f"{type(failure).__name__}: {failure}")
            result.generator = "wrk" if scenario.wrk else "py"
        if result.first_error:
            print(f"  first error: {result.first_error}", file=sys.stderr, flush=True)
        results.append(result)
    if args.turns and not (args.no_wrk or shutil.which("wrk") is None):
        print(f"[{datetime.now(UTC):%H:%M:%S}] the ratio scenarios in turns ...", file=sys.stderr, flush=True)
        try:
            results += interleaved(scenarios, host, port, args.concurrency, args.turns, args.turn_seconds)
        except Exception as failure:  # an error of these scenarios, like any other's
            results.append(
                Result("ratio scenarios in turns", errors=1, first_error=str(failure), generator="turn")
            )
            print(f"  first error: {failure}", file=sys.stderr, flush=True)
    print(table(results, args.concurrency))
    if args.json:
        figures = [
            {
                "scenario": r.name,
                "requests": r.requests,
                "operations_per_second": round(r.rate, 1),
                "p50_ms": round(r.percentile(50), 1),
                "p95_ms": round(r.percentile(95), 1),
                "p99_ms": round(r.percentile(99), 1),
                "errors": r.errors,
                "generator": r.generator,
                "generator_cpu_percent": round(r.generator_cpu, 1),
                "server_cpu_percent": round(r.server_cpu, 1),
            }
            for r in results
        ]
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)
    # Speed is judged by reading the table; any error fails the run (the short mode of CI relies on it).
    if any(r.errors for r in results):
        sys.exit(1)


if __name__ == "__main__":
    main()
