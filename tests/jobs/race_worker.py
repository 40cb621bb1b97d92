"""A real worker process with the race jobs of tests/jobs/helpers.py registered:
`python -m tests.jobs.race_worker <worker id>` (tests/jobs/test_worker_process.py)."""

from __future__ import annotations

import os
import sys

import django


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    from django.core.management import call_command

    from tests.jobs.helpers import register_race_jobs

    register_race_jobs(int(os.environ.get("RACE_JOBS", "0")))
    call_command("worker", worker_id=sys.argv[1])


if __name__ == "__main__":
    main()
