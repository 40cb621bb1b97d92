"""Slow clients cannot starve the service (issue #13 item 4): deploy/nginx/daymark.conf, run as shipped
with loopback ports filled in, in front of a live gunicorn (config/gunicorn.py). Connections that send
their headers or their body a byte a second hold every gunicorn thread when they reach it directly, and
none when nginx reads the requests first; nginx's own refusals are problem+json."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.faults.conftest import ANSWER_WITHIN, ROOT, free_port, request, stop
from tests.faults.proxy import FaultProxy

pytestmark = pytest.mark.fault

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
TEMPLATE = ROOT / "deploy" / "nginx" / "daymark.conf"
# gunicorn: 2 workers x 2 threads; 16 slow connections, as in issue #13.
ATTACKERS = 16


@dataclass
class Stack:
    gunicorn_port: int
    nginx_port: int
    # Between nginx and gunicorn, counting the connections nginx opens to gunicorn.
    upstream: FaultProxy


def _wait_for(port: int, process: subprocess.Popen[bytes], what: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{what} exited"
        if request(port, "GET", "/health", timeout=2).status == 200:
            return
        time.sleep(0.2)
    pytest.fail(f"{what} never answered /health")


def nginx_config(tmp_path: Path, listen: int, upstream: int) -> Path:
    """The shipped server block, filled in as docs/deployment.md says, inside a minimal main file."""
    site = TEMPLATE.read_text()
    assert "${DAYMARK_LISTEN}" in site
    assert "${DAYMARK_UPSTREAM}" in site
    site = site.replace("${DAYMARK_LISTEN}", f"127.0.0.1:{listen}")
    site = site.replace("${DAYMARK_UPSTREAM}", f"127.0.0.1:{upstream}")
    # The live-updates upstream (the ASGI process) is not part of these tests: a port nothing listens on.
    site = site.replace("${DAYMARK_ASGI_UPSTREAM}", f"127.0.0.1:{free_port()}")
    (tmp_path / "daymark.conf").write_text(site)
    temp = tmp_path / "nginx-temp"
    temp.mkdir()
    main = f"""
daemon off;
worker_processes 1;
pid {tmp_path}/nginx.pid;
error_log {tmp_path}/nginx-error.log warn;
{"user root;" if os.geteuid() == 0 else ""}
events {{ worker_connections 512; }}
http {{
    access_log off;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {tmp_path}/daymark.conf;
}}
"""
    path = tmp_path / "nginx.conf"
    path.write_text(main)
    return path


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One gunicorn (2 workers x 2 threads, SQLite) behind the shipped nginx configuration for the module;
    each test leaves it serving."""
    tmp_path = tmp_path_factory.mktemp("slow-clients")
    if NGINX is None:
        pytest.skip("nginx is not installed (apt-get install nginx; .ci/run does)")
    gunicorn_port, nginx_port = free_port(), free_port()
    env = {
        **os.environ,
        "DJANGO_SECRET_KEY": "slow-client-tests-only",
        "DJANGO_DEBUG": "false",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "GUNICORN_BIND": f"127.0.0.1:{gunicorn_port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
        "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        "LOG_LEVEL": "WARNING",
        "RATE_LIMIT_TOKEN_PER_IP": "1000/m",
    }
    env.pop("REDIS_URL", None)
    gunicorn = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    upstream = FaultProxy("127.0.0.1", gunicorn_port)
    config = nginx_config(tmp_path, nginx_port, upstream.port)
    check = subprocess.run([NGINX, "-t", "-c", str(config)], capture_output=True, text=True, check=False)
    assert check.returncode == 0, check.stderr
    nginx = subprocess.Popen([NGINX, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(gunicorn_port, gunicorn, "gunicorn")
        _wait_for(nginx_port, nginx, "nginx")
        yield Stack(gunicorn_port, nginx_port, upstream)
    finally:
        stop(nginx)
        stop(gunicorn)
        upstream.close()


def _slow_headers(sock: socket.socket, stop: threading.Event) -> None:
    sock.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    while not stop.wait(1):
        sock.sendall(b"X")  # one byte of a header line that never ends


def _slow_body(sock: socket.socket, stop: threading.Event) -> None:
    sock.sendall(
        b"POST /api/v1/auth/token HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n{"
    )
    while not stop.wait(1):
        sock.sendall(b" ")  # a body that takes 1,000 seconds


def _under_attack(port: int, attack: Callable[[socket.socket, threading.Event], None]) -> float:
    """/health's answer time (0 when it did not answer within 3 s) while ATTACKERS slow connections are
    open on `port`."""
    stop = threading.Event()
    sockets = [socket.create_connection(("127.0.0.1", port)) for _ in range(ATTACKERS)]
    threads = [threading.Thread(target=attack, args=(s, stop), daemon=True) for s in sockets]
    for thread in threads:
        thread.start()
    try:
        time.sleep(1.5)  # the attack is under way: every connection has sent something
        answer = request(port, "GET", "/health", timeout=3)
        return answer.seconds if answer.status == 200 else 0.0
    finally:
        stop.set()
        for sock in sockets:
            sock.close()
        for thread in threads:
            thread.join(timeout=5)


@pytest.mark.parametrize("attack", [_slow_headers, _slow_body], ids=["slow-headers", "slow-body"])
def test_slow_clients_never_reach_gunicorn_behind_nginx(
    stack: Stack, attack: Callable[[socket.socket, threading.Event], None]
) -> None:
    opened_before = stack.upstream.accepted
    through_nginx = _under_attack(stack.nginx_port, attack)
    opened = stack.upstream.accepted - opened_before
    # The same attack straight at gunicorn, for the figures: it held every thread in some runs (no
    # answer in 3 s) and not in others, so only the property through nginx is asserted.
    direct = _under_attack(stack.gunicorn_port, attack)
    print(
        f"{attack.__name__}: /health through nginx {through_nginx:.2f}s "
        f"({opened} connections to gunicorn), directly {f'{direct:.2f}s' if direct else 'no answer in 3 s'}"
    )
    assert 0 < through_nginx < ANSWER_WITHIN
    # nginx passed none of the 16 unfinished requests on: at most /health's own connection was opened.
    assert opened <= 1


def _raw(port: int, payload: bytes) -> tuple[int, dict[str, str], bytes]:
    """Sends `payload` as is and reads one answer (nginx may keep reading a refused body, so the answer
    ends at its Content-Length, not at the connection's end)."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(payload)
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin1").split("\r\n")
        headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
        while len(body) < int(headers["content-length"]):
            body += sock.recv(65536)
    return int(lines[0].split()[1]), headers, body


@pytest.mark.parametrize(
    ("payload", "status", "code"),
    [
        (b"NONSENSE\r\n\r\n", 400, "parse_error"),
        (b"GET /" + b"a" * 9000 + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 414, "uri_too_long"),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\nConnection: close\r\n\r\n",
            431,
            "header_too_large",
        ),
        (
            b"POST /api/v1/sync HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            b"Content-Length: 1048577\r\nConnection: close\r\n\r\n",
            413,
            "payload_too_large",
        ),
    ],
    ids=["400", "414", "431", "413"],
)
def test_nginx_refusals_are_problems(stack: Stack, payload: bytes, status: int, code: str) -> None:
    answered, headers, body = _raw(stack.nginx_port, payload)
    assert answered == status
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert (problem["status"], problem["code"]) == (status, code)
    assert problem["request_id"] == headers["x-request-id"]


def test_nginx_answers_a_problem_when_gunicorn_is_gone(stack: Stack) -> None:
    stack.upstream.set_mode("cut")
    try:
        answer = request(stack.nginx_port, "GET", "/api/v1/lists")
    finally:
        stack.upstream.set_mode("pass")
    assert answer.status == 502
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.body["code"] == "service_unavailable"
    assert answer.headers["retry-after"] == "5"
