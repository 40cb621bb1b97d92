"""Three HTTP clients written from the client guide alone (docs/api/sync.md), against a live gunicorn: two
members of a workspace and one who is removed from it while all three edit and pull. They converge: each
replica equals a fresh full sync of its account, the two members agree on the workspace, and the removed
member holds nothing of it.

The server runs on its own database (PostgreSQL when the tests run on it, else a SQLite file), with the
production settings; the clients know only URLs, JSON and the rules of the guide.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.conftest import LIVE_SERVERS
from tests.scratch_database import scratch_database

pytestmark = LIVE_SERVERS

ROOT = Path(__file__).resolve().parents[2]
API = "/api/v1"
PASSWORD = "a long enough passphrase"
PORTS = range(18700, 18800)
# What an operation of another member's making may be refused with: a role too low, an entity or a list
# gone or out of sight (a list named in `data` is a field error), an id taken.
REFUSALS = ("permission_denied", "not_found", "validation_error", "id_conflict")


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 18700-18799")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    directory = tmp_path_factory.mktemp("live-sync")
    port = _free_port()
    database, drop = scratch_database(directory, "verify_live")
    env = {
        **os.environ,
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "live-sync-test-only",
        "DATABASE_URL": database,
        "DATABASE_POOL_MAX_SIZE": "4",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "4",
        "PROMETHEUS_MULTIPROC_DIR": str(directory / "metrics"),
        "RATE_LIMIT_ENABLE": "false",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    (directory / "metrics").mkdir()
    log = (directory / "server.log").open("wb")
    try:
        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
            cwd=ROOT,
            env=env,
            check=True,
            timeout=300,
        )
        process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or process.poll() is not None:
                        raise
                    time.sleep(0.2)
            yield port
        finally:
            process.terminate()
            process.wait(timeout=30)
        errors = [
            line for line in (directory / "server.log").read_text().splitlines() if '"level":"ERROR"' in line
        ]
        assert not errors, errors[:5]
    finally:
        log.close()
        drop()


class Refused(Exception):
    pass


class Device:
    """A client of the guide: a replica, a cursor, an outbox; pulls, pushes, and starts again on a 410."""

    def __init__(self, port: int, email: str, register: bool = True) -> None:
        self.port = port
        self.email = email
        self.token = ""
        self.replica: dict[tuple[str, str], dict[str, Any]] = {}
        self.cursor: str | None = None
        self.restarts = 0
        self.statuses: list[int] = []
        path = "/auth/register" if register else "/auth/token"
        self.token = self.call("POST", path, {"email": email, "password": PASSWORD}, expect=(200, 201))[
            "access"
        ]

    def call(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200,)) -> Any:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if body is not None:
            headers["Content-Type"] = "application/json"
        try:
            connection.request(method, API + path, json.dumps(body) if body is not None else None, headers)
            response = connection.getresponse()
            raw = response.read()
        finally:
            connection.close()
        self.statuses.append(response.status)
        assert response.status < 500, (method, path, response.status, raw[:300])
        if response.status not in expect:
            raise Refused(f"{method} {path}: {response.status} {raw[:200]!r}")
        return json.loads(raw) if raw else None

    # --- the guide's pull ----------------------------------------------------------------------------------

    def apply(self, changes: list[dict[str, Any]]) -> None:
        for change in changes:
            key = (change["type"], change["id"])
            if not change["deleted"]:
                self.replica[key] = {"version": change["version"], **change["data"]}
                continue
            self.replica.pop(key, None)
            if change["type"] == "workspace":
                # Drop the workspace's members and lists, and the items of those lists.
                held = [
                    k
                    for k, v in self.replica.items()
                    if k[0] in ("member", "list") and v.get("workspace") == change["id"]
                ]
                lists = {k[1] for k in held if k[0] == "list"}
                held += [k for k, v in self.replica.items() if k[0] == "item" and v.get("list") in lists]
                for gone in held:
                    self.replica.pop(gone, None)

    def pull(self, limit: int = 500) -> None:
        while True:
            query = {"limit": limit, **({"cursor": self.cursor} if self.cursor else {})}
            answer = self.call("GET", f"/sync?{urlencode(query)}", expect=(200, 410))
            if self.statuses[-1] == 410:  # the guide: a full sync, keeping the outbox
                self.full_sync()
                return
            self.apply(answer["changes"])
            self.cursor = answer["cursor"]
            if not answer["has_more"]:
                return

    def full_sync(self) -> None:
        self.restarts += 1
        self.cursor = None
        self.replica = {}
        self.pull(limit=7)

    def push(self, operations: list[dict[str, Any]]) -> list[dict[str, Any]]:
        body = {"operations": operations, **({"cursor": self.cursor} if self.cursor else {})}
        answer = self.call("POST", "/sync", body, expect=(200, 410))
        if self.statuses[-1] == 410:  # nothing ran: start again, then push the same operations
            self.full_sync()
            answer = self.call("POST", "/sync", {"operations": operations, "cursor": self.cursor})
        self.apply(answer["changes"])
        self.cursor = answer["cursor"]
        if answer["has_more"]:
            self.pull(limit=7)
        return list(answer["results"])

    def mine(self, type_name: str) -> list[tuple[str, dict[str, Any]]]:
        return sorted((k[1], v) for k, v in self.replica.items() if k[0] == type_name)


def _edits(rng: random.Random, device: Device, workspace: str) -> list[dict[str, Any]]:
    operations: list[dict[str, Any]] = []
    lists = device.mine("list")
    items = device.mine("item")
    for _ in range(rng.randint(1, 4)):
        op: dict[str, Any] = {"op_id": str(uuid.uuid4())}
        roll = rng.random()
        if roll < 0.15 or not lists:
            op.update(
                type="list",
                action="create",
                id=str(uuid.uuid4()),
                data={"name": f"l{rng.randint(0, 99)}", "workspace": rng.choice([None, workspace])},
            )
        elif roll < 0.45 or not items:
            op.update(
                type="item",
                action="create",
                id=str(uuid.uuid4()),
                data={"list": rng.choice(lists)[0], "title": f"i{rng.randint(0, 99)}"},
            )
        elif roll < 0.75:
            item_id, item = rng.choice(items)
            op.update(
                type="item",
                action="update",
                id=item_id,
                version=item["version"],
                data={"title": f"t{rng.randint(0, 99)}"},
            )
        elif roll < 0.85:
            item_id, item = rng.choice(items)
            op.update(
                type="item",
                action="update",
                id=item_id,
                version=item["version"],
                data={"list": rng.choice(lists)[0]},
            )
        elif roll < 0.95:
            list_id, lst = rng.choice(lists)
            op.update(
                type="list",
                action="update",
                id=list_id,
                version=lst["version"],
                data={"workspace": rng.choice([None, workspace])},
            )
        else:
            item_id, item = rng.choice(items)
            op.update(type="item", action="delete", id=item_id, version=item["version"])
        operations.append(op)
    return operations


def test_three_http_clients_converge_while_one_of_them_is_removed(server: int) -> None:
    tag = uuid.uuid4().hex[:8]
    ada, ben, cy = (Device(server, f"{name}-{tag}@example.com") for name in ("ada", "ben", "cy"))
    workspace = ada.call("POST", "/workspaces", {"name": "Home"}, expect=(201,))["id"]
    for invitee in (ben, cy):
        ada.call(
            "POST",
            f"/workspaces/{workspace}/invitations",
            {"email": invitee.email, "role": "editor"},
            expect=(201,),
        )
        [invitation] = invitee.call("GET", "/user/invitations")["results"]
        invitee.call("POST", f"/user/invitations/{invitation['id']}/accept")
    for device in (ada, ben, cy):
        device.pull(limit=7)
    members = ada.call("GET", f"/workspaces/{workspace}/members")["results"]
    cy_id = next(m["user"] for m in members if m["email"] == cy.email)

    errors: list[BaseException] = []

    def work(device: Device, seed: int) -> None:
        rng = random.Random(seed)
        try:
            for _ in range(12):
                results = device.push(_edits(rng, device, workspace))
                for result in results:
                    assert result["status"] in ("applied", "merged", "conflict", "invalid"), result
                    if result["status"] == "invalid":
                        assert result["error"]["code"] in REFUSALS, result
                device.pull(limit=rng.choice([3, 7, 500]))
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=work, args=(d, n)) for n, d in enumerate((ada, ben, cy))]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    Device(server, ada.email, register=False).call(
        "DELETE", f"/workspaces/{workspace}/members/{cy_id}", expect=(204,)
    )  # from another of Ada's devices
    for thread in threads:
        thread.join(180)
    assert not errors, errors
    assert not any(thread.is_alive() for thread in threads)

    for device in (ada, ben, cy):
        device.pull(limit=7)
        fresh = Device(server, device.email, register=False)
        fresh.pull(limit=500)
        assert device.replica == fresh.replica, device.email
    shared = {k: v for k, v in ada.replica.items() if _in_workspace(ada.replica, k, v, workspace)}
    assert shared == {k: v for k, v in ben.replica.items() if _in_workspace(ben.replica, k, v, workspace)}
    assert not any(_in_workspace(cy.replica, k, v, workspace) for k, v in cy.replica.items())
    assert ("workspace", workspace) not in cy.replica
    assert cy.call("GET", f"/workspaces/{workspace}", expect=(404,))["code"] == "not_found"


def _in_workspace(
    replica: dict[Any, Any], key: tuple[str, str], value: dict[str, Any], workspace: str
) -> bool:
    if key[0] in ("workspace",):
        return key[1] == workspace
    if key[0] in ("member", "list"):
        return value.get("workspace") == workspace
    if key[0] == "item":
        lst = replica.get(("list", value.get("list")))
        return lst is not None and lst.get("workspace") == workspace
    return False
