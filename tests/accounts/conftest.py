"""Fixtures of the back office's tests."""

from __future__ import annotations

from typing import cast

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import UserFactory


@pytest.fixture
def staff() -> User:
    return cast(User, UserFactory(is_staff=True, is_superuser=True))


@pytest.fixture
def staff_client(staff: User) -> Client:
    """A browser session of `staff` in the admin."""
    client = Client()
    client.force_login(staff)
    return client
