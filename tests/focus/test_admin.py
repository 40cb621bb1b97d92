from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from tests.factories import AntiTodoEntryFactory, FocusCardFactory, ItemFactory, ListFactory, UserFactory


@pytest.fixture
def staff_client(db: Any, settings: Any) -> Client:
    # No collectstatic in tests: plain storage, not the hashed manifest of production.
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    staff = UserFactory.create(is_staff=True, is_superuser=True)
    client = Client()
    client.force_login(staff)
    return client


def test_staff_find_cards_and_entries_by_owner_email_read_only(staff_client: Client, user: User) -> None:
    item = ItemFactory.create(list=ListFactory.create(user=user))
    card = FocusCardFactory.create(user=user, date=date(2026, 5, 4), items=[item])
    entry = AntiTodoEntryFactory.create(user=user, date=date(2026, 5, 4), title="Mended the fence")
    found = staff_client.get("/admin/focus/focuscard/", {"q": user.email})
    assert found.status_code == 200
    assert str(card.date.strftime("%b")) in found.content.decode()
    page = staff_client.get(f"/admin/focus/focuscard/{card.pk}/change/")
    assert page.status_code == 200
    assert item.title in page.content.decode()
    entries = staff_client.get("/admin/antitodo/antitodoentry/", {"q": user.email})
    assert "Mended the fence" in entries.content.decode()
    assert staff_client.get(f"/admin/antitodo/antitodoentry/{entry.pk}/change/").status_code == 200
    assert staff_client.get("/admin/focus/focuscard/add/").status_code == 403
    assert staff_client.post(f"/admin/antitodo/antitodoentry/{entry.pk}/delete/").status_code == 403
