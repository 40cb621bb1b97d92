"""Peak memory of a gunicorn worker while 8 logins run at once, by the Argon2 parameters of the stored hashes.

Each scenario gets a fresh server (gunicorn with config/gunicorn.py: one worker, 8 threads, SQLite in a
temporary directory, loopback only) and 8 users whose password hashes use the scenario's parameters; the 8
users log in at once (`POST auth/token`). The figure is the worker's peak resident memory (VmHWM) minus its
resident memory just before (VmRSS), in MiB. Scenarios:

- `django-default`: hashes made with Django's stock Argon2 parameters (m=100 MiB, t=2, p=8), as every
  account had before; the first login verifies with them, then rehashes with the configured ones.
- `configured`: hashes made with the configured parameters (accounts.hashers), as after that first login.

Usage: `.venv/bin/python bench/login_memory.py [--logins 8]`. Only the standard library and the app.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PASSWORD = "a perfectly fine passphrase 42"

CREATE_USERS = """
import sys
import django
django.setup()
from django.contrib.auth.hashers import Argon2PasswordHasher, make_password
from accounts.models import User
scenario, count, password = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if scenario == "configured":
    encoded = make_password(password)
else:
    stock = Argon2PasswordHasher()
    encoded = stock.encode(password, stock.salt())
for n in range(count):
    User.objects.create(email=f"login{n}@bench.daymark.invalid", password=encoded)
print(encoded.split("$")[3])
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _kib(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"no {field} for {pid}")


def _request(port: int, method: str, path: str, body: dict[str, str] | None = None) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    payload = json.dumps(body).encode() if body is not None else None
    connection.request(method, path, payload, {"Content-Type": "application/json"})
    status = connection.getresponse().status
    connection.close()
    return status


def run(scenario: str, logins: int) -> tuple[str, float, float]:
    with tempfile.TemporaryDirectory(prefix="daymark-login-memory-") as work:
        port = _free_port()
        env = {
            **os.environ,
            "DJANGO_SECRET_KEY": "login-memory-bench",
            "DATABASE_URL": f"sqlite:///{work}/db.sqlite3",
            "PROMETHEUS_MULTIPROC_DIR": f"{work}/metrics",
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "1",
            "GUNICORN_THREADS": str(logins),
            "RATE_LIMIT_ENABLE": "false",
            "LOG_LEVEL": "WARNING",
            "ACCESS_LOG_LEVEL": "WARNING",
        }
        env.pop("REDIS_URL", None)
        Path(f"{work}/metrics").mkdir()
        python = sys.executable
        subprocess.run([python, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
        made = subprocess.run(
            [python, "-c", CREATE_USERS, scenario, str(logins), PASSWORD],
            cwd=ROOT,
            env={**env, "DJANGO_SETTINGS_MODULE": "config.settings"},
            check=True,
            capture_output=True,
            text=True,
        )
        parameters = made.stdout.strip()
        server = subprocess.Popen(
            [python, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            for _ in range(150):
                try:
                    if _request(port, "GET", "/health") == 200:
                        break
                except OSError:
                    time.sleep(0.2)
            children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
            worker = int(children[0])
            _request(
                port,
                "POST",
                "/api/v1/auth/token",
                {"email": "nobody@bench.daymark.invalid", "password": "x" * 12},
            )
            before = _kib(worker, "VmRSS")
            statuses: list[int] = []
            barrier = threading.Barrier(logins)

            def login(n: int) -> None:
                barrier.wait()
                body = {"email": f"login{n}@bench.daymark.invalid", "password": PASSWORD}
                statuses.append(_request(port, "POST", "/api/v1/auth/token", body))

            threads = [threading.Thread(target=login, args=(n,)) for n in range(logins)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if statuses != [200] * logins:
                raise RuntimeError(f"logins answered {statuses}")
            peak = _kib(worker, "VmHWM")
        finally:
            server.terminate()
            server.wait(timeout=30)
        return parameters, before / 1024, (peak - before) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--logins", type=int, default=8)
    args = parser.parse_args()
    print(f"{'stored hashes':<16} {'argon2 parameters':<18} {'worker RSS before':>18} {'peak growth':>12}")
    for scenario in ("django-default", "configured"):
        parameters, before, growth = run(scenario, args.logins)
        print(f"{scenario:<16} {parameters:<18} {before:>14.0f} MiB {growth:>8.0f} MiB")
    print(f"({args.logins} concurrent logins; peak growth: the worker's VmHWM after, minus its VmRSS before)")


if __name__ == "__main__":
    main()
