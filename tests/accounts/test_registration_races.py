"""Concurrent registrations of one email: one account, and a 400 for every other (PostgreSQL)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import User
from tests.concurrency import at_once

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_eight_concurrent_registrations_of_one_email_give_one_201_and_seven_400s(settings: Any) -> None:
    settings.RATE_LIMIT_REGISTER_PER_IP = "100/h"
    body = {"email": "race@example.com", "password": "a perfectly fine passphrase 42"}

    def register(n: int) -> Any:
        return APIClient().post("/api/v1/auth/register", body)

    responses = at_once(8, register)

    assert sorted(r.status_code for r in responses) == [201] + [400] * 7
    for refused in (r for r in responses if r.status_code == 400):
        assert refused["Content-Type"] == "application/problem+json"
        assert refused.json()["errors"] == {"email": ["An account with this email already exists."]}
    assert User.objects.filter(email="race@example.com").count() == 1
