"""Development limits: with DEBUG on, the authentication limits are higher, so a developer is not locked
out after five registrations; with DEBUG off they are the contract's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from rest_framework.test import APIClient

ROOT = Path(__file__).resolve().parents[2]
AUTH_LIMITS = (
    "RATE_LIMIT_TOKEN_PER_IP",
    "RATE_LIMIT_TOKEN_PER_EMAIL",
    "RATE_LIMIT_REGISTER_PER_IP",
    "RATE_LIMIT_PASSWORD_RESET_PER_IP",
)
PRODUCTION = {
    "RATE_LIMIT_TOKEN_PER_IP": "10/m",
    "RATE_LIMIT_TOKEN_PER_EMAIL": "5/m",
    "RATE_LIMIT_REGISTER_PER_IP": "5/h",
    "RATE_LIMIT_PASSWORD_RESET_PER_IP": "5/h",
}
DEVELOPMENT = {
    "RATE_LIMIT_TOKEN_PER_IP": "200/m",
    "RATE_LIMIT_TOKEN_PER_EMAIL": "100/m",
    "RATE_LIMIT_REGISTER_PER_IP": "100/h",
    "RATE_LIMIT_PASSWORD_RESET_PER_IP": "100/h",
}


@cache
def limits_when(debug: bool, **overrides: str) -> dict[str, str]:
    """The limits the settings module really computes in a fresh process with this environment."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("RATE_LIMIT_")}
    env.update(DJANGO_DEBUG=str(debug).lower(), DJANGO_SECRET_KEY="limits-test", **overrides)
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{name: getattr(settings, name) for name in {AUTH_LIMITS!r}}}))"
    )
    env["DJANGO_SETTINGS_MODULE"] = "config.settings"
    command = [sys.executable, "-c", script]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return dict(json.loads(result.stdout.strip().splitlines()[-1]))


def test_production_keeps_the_contracts_authentication_limits() -> None:
    assert limits_when(False) == PRODUCTION


def test_development_has_higher_authentication_limits() -> None:
    assert limits_when(True) == DEVELOPMENT


def test_a_limit_set_in_the_environment_wins_in_development_too() -> None:
    assert limits_when(True, RATE_LIMIT_REGISTER_PER_IP="2/h")["RATE_LIMIT_REGISTER_PER_IP"] == "2/h"


def _registrations(count: int) -> list[int]:
    client = APIClient()
    body = {"password": "a long enough passphrase"}
    return [
        client.post("/api/v1/auth/register", {**body, "email": f"dev{n}@example.com"}).status_code
        for n in range(count)
    ]


@pytest.mark.django_db
def test_a_developer_can_register_more_than_five_accounts_in_an_hour(settings: Any) -> None:
    settings.RATE_LIMIT_REGISTER_PER_IP = limits_when(True)["RATE_LIMIT_REGISTER_PER_IP"]
    assert _registrations(8) == [201] * 8


@pytest.mark.django_db
def test_production_refuses_the_sixth_registration_in_an_hour(settings: Any) -> None:
    settings.RATE_LIMIT_REGISTER_PER_IP = limits_when(False)["RATE_LIMIT_REGISTER_PER_IP"]
    assert _registrations(6) == [201] * 5 + [429]
