"""The production settings plus the benchmark's reference endpoints (bench/urls.py). Only `make bench`
selects this module (DJANGO_SETTINGS_MODULE=bench.settings); production never routes to the references."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
