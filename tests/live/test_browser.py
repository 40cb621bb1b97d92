"""A browser client of docs/api/live.md in a real headless Chromium: it asks for a ticket with its token,
opens the socket with it, and gets a poke within a second of another member's write, then pulls it."""

from __future__ import annotations

import time
from typing import Any

import pytest

from accounts.services.sessions import session_tokens
from tests.accounts.test_admin_browser import CHROMEDRIVER, CHROMIUM, browser
from tests.conftest import LIVE_SERVERS
from tests.factories import ListFactory, MemberFactory, UserFactory, WorkspaceFactory
from tests.live.conftest import Server

__all__ = ["browser"]  # the fixture, used by name

pytestmark = [
    pytest.mark.browser,
    pytest.mark.postgres,
    LIVE_SERVERS,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="no chromium/chromedriver installed"),
]

# The page's client: what the guide's example does, keeping what arrives on `window.live`.
CLIENT = """
const [api, token, done] = [arguments[0], arguments[1], arguments[arguments.length - 1]];
window.live = {messages: [], pulled: [], pokedAt: null, errors: []};
// As a client should: a failed request is tried again after a pause (a busy machine drops connections).
const ticket = async (attempt = 1) => {
  try {
    const headers = {Authorization: `Bearer ${token}`};
    const answer = await fetch(`${api}/stream/ticket`, {method: "POST", headers});
    return await answer.json();
  } catch (error) {
    window.live.errors.push(String(error));
    if (attempt >= 3) throw error;
    await new Promise((resolve) => setTimeout(resolve, 500));
    return ticket(attempt + 1);
  }
};
ticket()
  .then(({ticket}) => {
    const socket = new WebSocket(`${api.replace(/^http/, "ws")}/stream?ticket=${encodeURIComponent(ticket)}`);
    socket.onmessage = async (event) => {
      const message = JSON.parse(event.data);
      window.live.messages.push(message);
      if (message.type === "hello") done("open");
      if (message.type === "sync" && window.live.cursor) {
        window.live.pokedAt = Date.now();
        const pull = await fetch(`${api}/sync?cursor=${window.live.cursor}`,
                                 {headers: {Authorization: `Bearer ${token}`}});
        window.live.pulled.push(...(await pull.json()).changes.map((change) => change.id));
      }
    };
    socket.onclose = (event) => done(`closed ${event.code}`);
  })
  .catch((error) => done(`failed ${error}`));
"""


def test_a_browser_gets_a_poke_within_a_second_of_another_members_write(
    servers: tuple[Server, Server], browser: Any
) -> None:
    a, b = servers
    owner, member = UserFactory.create(), UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    MemberFactory.create(workspace=workspace, user=member)
    shared = ListFactory.create(user=owner, workspace=workspace.pk)
    api = f"http://127.0.0.1:{a.port}/api/v1"
    token = session_tokens(user=member)["access"]
    # A page of the server's origin: its Content-Security-Policy allows connecting to itself.
    browser.get(f"http://127.0.0.1:{a.port}/")
    browser.set_script_timeout(10)
    opened = browser.execute_async_script(CLIENT, api, token)
    assert opened == "open", (opened, browser.get_log("browser"))
    status, body = a.request("GET", "/api/v1/sync", token)
    assert status == 200
    browser.execute_script("window.live.cursor = arguments[0];", body["cursor"])
    # Another member writes through the other process.
    owner_token = session_tokens(user=owner)["access"]
    written = time.time() * 1000
    status, item = b.request("POST", "/api/v1/items", owner_token, {"list": str(shared.pk), "title": "Live"})
    assert status == 201
    deadline = time.monotonic() + 3
    while item["id"] not in browser.execute_script("return window.live.pulled;"):
        assert time.monotonic() < deadline, browser.execute_script("return window.live;")
        time.sleep(0.05)
    poked_at = browser.execute_script("return window.live.pokedAt;")
    assert poked_at - written < 1000
