"""The load generator of `make bench`: fixed concurrency, fixed time per scenario, one table.

Runs in its own process against a server that `bench/run.sh` started and seeded with `seed_load`. Each of
`--concurrency` threads holds one keep-alive HTTP/1.1 connection and runs the scenario's operation in a
loop; an operation is one request, except the full sync (every page of it). Only the standard library.
"""

from __future__ import annotations

import argparse
import http.client
import json
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
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


class Client:
    """One keep-alive connection; JSON in and out."""

    def __init__(self, host: str, port: int, token: str | None = None) -> None:
        self.host, self.port, self.token = host, port, token
        self.connection = http.client.HTTPConnection(host, port, timeout=60)
        self.requests = 0

    def call(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200,)) -> Any:
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

    def percentile(self, p: float) -> float:
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
    for thread in threads:
        thread.join()
    result.seconds = duration
    return result


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
    heavy = login(host, port, args.heavy_email, args.password)
    sync_token = login(host, port, args.sync_email, args.password)
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
        answer = client.call("GET", f"{API}/sync")
        items = 0
        while True:
            items += sum(change["type"] == "item" for change in answer["changes"])
            if not answer["has_more"]:
                break
            answer = client.call("GET", f"{API}/sync?cursor={answer['cursor']}")
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

    def search_page(client: Client, state: dict[str, Any]) -> None:
        state["n"] = state.get("n", 0) + 1
        q = quote(queries[(state["n"] + state.get("worker", 0)) % len(queries)])
        answer = client.call("GET", f"{API}/items?q={q}&list={lists[state['n'] % len(lists)]}")
        if not answer["results"]:
            raise Failed(f"no items for {q}")

    spaces = _spaces_scenarios(args, host, port)
    calendars = _calendar_scenarios(args, host, port)
    worker_state: Callable[[int], dict[str, Any]] = lambda worker: {"worker": worker}  # noqa: E731
    return [
        Scenario("bare JSON view (ceiling)", bare, None),
        Scenario("ref: items page, values()+JSON", page("/bench/ref/items-values"), heavy),
        Scenario("ref: items page, naive DRF", page("/bench/ref/items-naive"), heavy),
        Scenario("items page (GET items?list=)", page(f"{API}/items"), heavy),
        Scenario("incremental sync (10 changes)", incremental, heavy, incremental_setup),
        Scenario(f"full sync ({args.full_sync_items:,} items)", full_sync, sync_token),
        Scenario("full sync, one client alone", full_sync, sync_token, concurrency=1),
        Scenario("insights (365 days)", insights, heavy),
        Scenario("create item", create, heavy, worker_state),
        Scenario("PATCH item with version", patch, heavy, own_items),
        Scenario("push 50 operations", push, heavy, push_setup),
        # All workers push for the same user, whose writes the sync lock serialises by design
        # (docs/architecture.md, "The write path and the feed"): at concurrency 8 a push waits for the others,
        # so its latency is about 8 pushes.
        # One client alone measures the push itself.
        Scenario("push 50 ops, one client alone", push, heavy, push_setup, concurrency=1),
        Scenario("focus-card generate", generate, heavy, worker_state),
        Scenario("search (110,000 items)", search, heavy, worker_state),
        Scenario("search, one client alone", search, heavy, worker_state, concurrency=1),
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

    return [
        Scenario("calendar feed (1,000 items)", whole, None),
        Scenario("calendar feed, one client alone", whole, None, concurrency=1),
        Scenario("calendar feed unchanged (304)", unchanged, None),
    ]


# --- the table ---------------------------------------------------------------------------------------------

TARGETS = {
    # scenario prefix -> (description, check(result, by_name))
    "items page": "p99 < 25 ms, >= 2x naive, >= 0.8x values()",
    "incremental sync": "p95 < 15 ms",
    "incremental sync, 20 workspaces": "p50 and p95 within 1.5x of personal only",
    "full sync": "< 1 s per full sync (p95)",
    "push 50": "p95 < 300 ms",
    "move a list": "< 1 s (p95)",
    "insights": "p95 < 100 ms",
    "calendar feed, one client": "p95 < 200 ms",
    "search": "p95 < 50 ms",
}


def table(results: list[Result], concurrency: int) -> str:
    by_prefix = {r.name.split(" (")[0].split(",")[0]: r for r in results}
    lines = [
        f"concurrency {concurrency}; latency in ms (full sync: all pages of one full sync)",
        "",
        f"{'scenario':<34} {'requests':>8} {'ops/s':>8} {'p50':>8} {'p95':>8} {'p99':>8} {'errors':>6}",
        "-" * 86,
    ]
    for r in results:
        lines.append(
            f"{r.name:<34} {r.requests:>8} {r.rate:>8.1f} {r.percentile(50):>8.1f} {r.percentile(95):>8.1f} "
            f"{r.percentile(99):>8.1f} {r.errors:>6}"
        )
    ours = by_prefix.get("items page")
    naive = by_prefix.get("ref: items page")
    refs = [r for r in results if r.name.startswith("ref: items page")]
    bare = next((r for r in results if r.name.startswith("bare")), None)
    lines.append("")
    if ours and refs:
        values = next((r for r in refs if "values" in r.name), None)
        naive = next((r for r in refs if "naive" in r.name), None)
        lines.append("items page, requests/s as a ratio to the references:")
        if naive and naive.rate:
            lines.append(f"  vs naive DRF           {ours.rate / naive.rate:5.2f}x   (target >= 2x)")
        if values and values.rate:
            lines.append(f"  vs values()+JSON       {ours.rate / values.rate:5.2f}x   (target >= 0.8x)")
        if bare and bare.rate:
            lines.append(f"  vs bare JSON view      {ours.rate / bare.rate:5.2f}x   (the stack's ceiling)")
    lines.append("")
    lines.append("targets:")
    for r in results:
        prefixes = [prefix for prefix in TARGETS if r.name.startswith(prefix)]
        if prefixes:
            prefix = max(prefixes, key=len)
            lines.append(f"  {r.name:<34} {TARGETS[prefix]:<44} {_verdict(prefix, r, results)}")
    lines.append(f"  {'every scenario':<34} {'zero errors':<44} {_met(all(r.errors == 0 for r in results))}")
    return "\n".join(lines)


def _met(ok: bool) -> str:
    return "met" if ok else "NOT MET"


def _verdict(prefix: str, r: Result, results: list[Result]) -> str:
    rate = {
        ("values" if "values" in x.name else "naive"): x.rate for x in results if x.name.startswith("ref:")
    }
    if prefix == "items page":
        return _met(
            r.percentile(99) < 25
            and r.rate >= 2 * rate.get("naive", float("inf"))
            and r.rate >= 0.8 * rate.get("values", float("inf"))
        )
    if prefix == "incremental sync, 20 workspaces":
        solo = next((x for x in results if x.name.startswith("incremental sync, personal")), None)
        if solo is None:
            return "-"
        return _met(
            r.percentile(50) <= 1.5 * solo.percentile(50) and r.percentile(95) <= 1.5 * solo.percentile(95)
        )
    limits = {
        "incremental sync": 15,
        "full sync": 1000,
        "push 50": 300,
        "insights": 100,
        "move a list": 1000,
        "search": 50,
    }
    limits["calendar feed, one client"] = 200
    return _met(r.percentile(95) < limits[prefix])


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
    parser.add_argument("--json", default="", help="Also write the figures to this file.")
    args = parser.parse_args()
    parts = urlsplit(args.url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    scenarios = build(args, host, port)
    if args.only:
        wanted = [w.strip() for w in args.only.split(",") if w.strip()]
        scenarios = [s for s in scenarios if any(s.name.startswith(w) for w in wanted)]
    results = []
    for scenario in scenarios:
        print(f"running {scenario.name} ...", file=sys.stderr, flush=True)
        concurrency = scenario.concurrency or args.concurrency
        result = run(scenario, host, port, concurrency, args.warmup, args.duration)
        if result.first_error:
            print(f"  first error: {result.first_error}", file=sys.stderr, flush=True)
        results.append(result)
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
            }
            for r in results
        ]
        with open(args.json, "w") as out:
            json.dump(figures, out, indent=2)


if __name__ == "__main__":
    main()
