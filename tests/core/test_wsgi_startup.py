"""The WSGI application loads every view at startup and freezes what it loaded out of the collector's full
passes (config/wsgi.py): unfrozen, a full pass walks all of Django's objects (about 100 ms,
docs/performance.md) while the worker's other request threads wait."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_PROBE = """
import gc, json, sys
import config.wsgi
print(json.dumps({
    "frozen": gc.get_freeze_count(),
    "tracked": len(gc.get_objects()),
    "views": sorted(m for m in ("lists.views", "sync.views", "search.views") if m in sys.modules),
}))
"""


def test_the_wsgi_application_freezes_its_startup_objects_with_every_view_loaded() -> None:
    # As gunicorn imports it: the module names its settings itself.
    env = {name: value for name, value in os.environ.items() if name != "DJANGO_SETTINGS_MODULE"}
    env.setdefault("DJANGO_SECRET_KEY", "test-only")
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout.strip().splitlines()[-1])
    # The views are imported by the URLconf before the freeze, not by the first request after it.
    assert found["views"] == ["lists.views", "search.views", "sync.views"]
    # Nearly everything is frozen: what a full pass still walks is what was made after the freeze.
    assert found["frozen"] > 50_000
    assert found["tracked"] < found["frozen"] / 20
