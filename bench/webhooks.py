"""`python bench/webhooks.py [events] [endpoints]`: how long two worker processes take to deliver a burst of
webhook events (docs/performance.md, "Webhooks"). Defaults: 10,000 events to each of 10 endpoints, that is
100,000 deliveries. Run it under `flock /work/bench.lock` on a shared machine.

It runs on a PostgreSQL database of its own, made and dropped here (BENCH_PG, default
postgres://postgres@127.0.0.1:5432). One user has the endpoints, all pointing at a receiver on 127.0.0.1
(a separate process on asyncio that answers 200 and counts each `webhook-id`;
WEBHOOKS_ALLOW_INSECURE is on for the workers, as in development). The events and their deliveries are
inserted in bulk, as the outbox writes them (one event row, a delivery per endpoint), all due at once. Then
two `manage.py worker` processes start, and the time is taken until every delivery is recorded as
succeeded. It checks that the receiver got each delivery exactly once, and verifies a sample of the
signatures with the `standardwebhooks` library.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# The receiver process: counts webhook-ids, keeps a sample of requests for the signature check, and
# answers its tallies to GET /tally. It parses HTTP/1.1 itself on asyncio (request line, headers,
# Content-Length bodies, kept connections): the standard library's threaded http.server took 17 CPU-seconds
# of the 2 cores to answer 100,000 deliveries, CPU that the workers it measures then lacked.
RECEIVER = r"""
import asyncio, json
from collections import Counter
seen = Counter()
sample = []
OK = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"
class Receiver(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport, self.buffer = transport, b""
    def data_received(self, data):
        self.buffer += data
        while (end := self.buffer.find(b"\r\n\r\n")) >= 0:
            request_line, *lines = self.buffer[:end].decode("latin-1").split("\r\n")
            headers = {}
            for line in lines:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            length = int(headers.get("content-length", "0"))
            if len(self.buffer) < end + 4 + length:
                return
            body = self.buffer[end + 4 : end + 4 + length]
            self.buffer = self.buffer[end + 4 + length :]
            if request_line.startswith("GET /tally"):
                twice = sum(1 for n in seen.values() if n > 1)
                tally = {"distinct": len(seen), "total": sum(seen.values()), "twice": twice, "sample": sample}
                data = json.dumps(tally).encode()
                self.transport.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(data) + data)
                continue
            seen[headers.get("webhook-id")] += 1
            if len(sample) < 20:
                sample.append({"headers": headers, "body": body.decode()})
            self.transport.write(OK)
async def serve():
    server = await asyncio.get_running_loop().create_server(Receiver, "127.0.0.1", 0)
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()
asyncio.run(serve())
"""


def _seed(events: int, endpoints: int, url: str) -> dict[str, str]:
    from django.utils import timezone

    from tests.factories import UserFactory
    from webhooks.models import Delivery, Endpoint, Event
    from webhooks.services import endpoint_create, event_body

    user = UserFactory.create()
    secrets = {}
    for _ in range(endpoints):
        endpoint, secret = endpoint_create(user=user, url=url, events=["*"])
        secrets[str(endpoint.pk)] = secret
    hooks = list(Endpoint.objects.all())
    now = timezone.now()
    for start in range(0, events, 1000):
        made = [
            Event(
                type="item.updated",
                body=event_body(
                    "item.updated",
                    {"id": f"bench-{n}", "title": f"Item {n}", "version": 2, "actor": None},
                    now,
                ),
                created_at=now,
            )
            for n in range(start, min(events, start + 1000))
        ]
        Event.objects.bulk_create(made)
        Delivery.objects.bulk_create(
            [Delivery(endpoint=h, event=e, next_attempt_at=now, created_at=now) for e in made for h in hooks],
            batch_size=5000,
        )
    return secrets


def _left() -> int:
    from webhooks.models import Delivery

    return Delivery.objects.exclude(status="succeeded").count()


def _pending() -> bool:
    """Whether a delivery is still pending (through the claim's partial index: polling is not free, and
    the CPU it takes is the workers' and PostgreSQL's)."""
    from webhooks.models import Delivery

    return Delivery.objects.filter(status="pending").exists()


def _tally(port: int) -> dict[str, object]:
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/tally", timeout=30) as answer:
        return dict(json.loads(answer.read()))


def main(events: int = 10_000, endpoints: int = 10) -> None:
    pg = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
    name = f"daymark_bench_webhooks_{os.getpid()}"
    python = sys.executable
    subprocess.run([python, str(ROOT / "bench/db.py"), "create", pg, name], check=True)
    env = {
        **os.environ,
        "DATABASE_URL": f"{pg}/{name}",
        "DJANGO_SECRET_KEY": os.environ.get("DJANGO_SECRET_KEY", "bench-only"),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "WEBHOOKS_ALLOW_INSECURE": "true",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("REDIS_URL", None)
    os.environ.update(env)
    receiver = subprocess.Popen([python, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    workers: list[subprocess.Popen[bytes]] = []
    ok = False
    try:
        assert receiver.stdout is not None
        port = int(receiver.stdout.readline())
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        call_command("migrate", verbosity=0)
        started = time.monotonic()
        secrets = _seed(events, endpoints, f"http://127.0.0.1:{port}/hook")
        expected = _left()
        print(
            f"seeded {events} events x {endpoints} endpoints = {expected} deliveries in "
            f"{time.monotonic() - started:.1f} s"
        )
        connection.close()
        if os.environ.get("BENCH_PAUSE"):  # BENCH_PAUSE=1: the data stays for a profile; Enter goes on
            print(f"DATABASE_URL={pg}/{name}", flush=True)
            input()
        from bench.live import cpu_seconds, machine_busy, postgres_cpu_seconds

        receiver_cpu, machine, postgres = cpu_seconds(receiver.pid), machine_busy(), postgres_cpu_seconds()
        started = time.monotonic()
        workers = [
            subprocess.Popen(
                [python, str(ROOT / "manage.py"), "worker", "--no-tasks", "--worker-id", f"bench-{n}"],
                env=env,
                cwd=ROOT,
            )
            for n in range(2)
        ]
        while _pending() and time.monotonic() - started < 600:
            connection.close()
            time.sleep(0.25)
        elapsed = time.monotonic() - started
        left = _left()
        print(
            f"two workers delivered {expected - left} of {expected} in {elapsed:.1f} s "
            f"({(expected - left) / elapsed:.0f} a second)"
        )
        # Whose CPU the drain took (seconds), and how busy the whole machine was meanwhile: the receiver
        # and PostgreSQL share the two cores with the workers.
        busy, total = (now - before for now, before in zip(machine_busy(), machine, strict=True))
        print(
            "  CPU seconds: workers "
            + ", ".join(f"{cpu_seconds(w.pid):.1f}" for w in workers)
            + f"; receiver {cpu_seconds(receiver.pid) - receiver_cpu:.1f}; "
            f"PostgreSQL {postgres_cpu_seconds() - postgres:.1f}; "
            f"machine busy {100 * busy / max(total, 1):.0f}% of its cores"
        )
        tally = _tally(port)
        _verify(tally["sample"], secrets)  # type: ignore[arg-type]
        ok = tally["distinct"] == tally["total"] == expected and tally["twice"] == 0 and not left
        print(
            f"  receiver: {tally['total']} requests, {tally['distinct']} distinct webhook-ids, "
            f"{tally['twice']} twice: {'OK' if ok else 'WRONG'}"
        )
        connection.close()
    finally:
        for process in workers:
            process.terminate()
        for process in workers:
            process.wait(timeout=60)
        receiver.terminate()
        receiver.wait(timeout=30)
        subprocess.run([python, str(ROOT / "bench/db.py"), "drop", pg, name], check=False)
    if not ok:  # `make bench` (bench/run.sh) fails with it
        raise SystemExit(1)


def _verify(sample: list[dict[str, object]], secrets: dict[str, str]) -> None:
    """Each sampled request verifies with the secret of one of the endpoints (the library's own check)."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    for request in sample:
        headers = {k.lower(): str(v) for k, v in dict(request["headers"]).items()}  # type: ignore[call-overload]
        for secret in secrets.values():
            try:
                Webhook(secret).verify(str(request["body"]), headers)
                break
            except WebhookVerificationError:
                continue
        else:
            raise SystemExit(f"a delivery did not verify: {headers.get('webhook-id')}")
    print(
        f"  {len(sample)} sampled signatures verified with standardwebhooks at {datetime.now(UTC):%H:%M:%S}"
    )


if __name__ == "__main__":
    main(*(int(arg) for arg in sys.argv[1:3]))
