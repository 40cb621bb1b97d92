"""Staff members with exactly the permissions a test gives them, and a clean usage buffer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from accounts.models import User
from backoffice.usage import BUFFER
from tests.factories import UserFactory

ALL_BACKOFFICE = (
    "backoffice.view_dashboard",
    "backoffice.view_health",
    "backoffice.deactivate_user",
    "backoffice.send_password_reset",
    "backoffice.export_user_data",
    "backoffice.delete_user",
    "backoffice.revoke_api_key",
    "backoffice.remove_workspace_member",
    "accounts.view_user",
)


def staff_with(*permissions: str, email: str | None = None) -> User:
    """A staff member, not a superuser, holding `permissions` ("app.codename")."""
    extra = {"email": email} if email else {}
    user = cast(User, UserFactory(is_staff=True, **extra))
    for name in permissions:
        app, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return User.objects.get(pk=user.pk)  # without the permission cache


@pytest.fixture
def make_staff(db: Any) -> Callable[..., User]:
    return staff_with


@pytest.fixture
def browser_of() -> Callable[[User], Client]:
    def make(user: User) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make


@pytest.fixture(autouse=True)
def _empty_usage_buffer() -> Any:
    # Requests of earlier tests in this process were counted in it.
    BUFFER.take()
    yield
    BUFFER.take()
