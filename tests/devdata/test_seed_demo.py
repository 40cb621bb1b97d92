from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import time_machine
from django.core.management import call_command

from accounts.models import User
from antitodo.models import AntiTodoEntry
from core.dates import local_today
from focus.models import FocusCard
from insights.selectors import insights
from lists.models import Item
from sync.models import ChangeRecord


def test_seed_demo_fills_the_insights_and_a_second_run_changes_nothing(db: Any, settings: Any) -> None:
    settings.DEMO_USER_EMAIL = "demo@example.com"
    with time_machine.travel("2026-05-20T12:00:00Z", tick=False):
        call_command("seed_demo", stdout=StringIO())
        counts = (Item.objects.count(), FocusCard.objects.count(), AntiTodoEntry.objects.count())
        changes = ChangeRecord.objects.count()
        call_command("seed_demo", stdout=StringIO())
        assert (Item.objects.count(), FocusCard.objects.count(), AntiTodoEntry.objects.count()) == counts
        assert ChangeRecord.objects.count() == changes
        user = User.objects.get(email="demo@example.com")
        today = local_today(user)
        got = insights(user, today - timedelta(days=29), today)
    assert got["items"]["completed"] > 10
    assert got["anti_todo"]["entries"] > 0
    assert got["focus"]["cards"] >= 7
    assert got["streak"]["longest"] >= 5
    assert FocusCard.objects.filter(user=user, date=today).exists()


def _seed_output() -> str:
    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_every_run_shows_how_to_sign_in_as_the_demo_user(db: Any, settings: Any) -> None:
    settings.DEBUG = True
    settings.DEMO_USER_EMAIL = "demo@example.com"
    assert "demo@example.com with password daymark-demo-password" in _seed_output()
    assert "demo@example.com with password daymark-demo-password" in _seed_output()
    user = User.objects.get(email="demo@example.com")
    user.set_password("another long passphrase")
    user.save()
    later = _seed_output()
    assert "another long passphrase" not in later
    assert "daymark-demo-password" not in later
    assert "manage.py changepassword demo@example.com" in later


def test_a_generated_password_is_never_shown_again(db: Any, settings: Any) -> None:
    settings.DEBUG = False
    settings.DEMO_USER_EMAIL = "demo@example.com"
    settings.DEMO_USER_PASSWORD = ""
    assert "with password" in _seed_output()
    assert "manage.py changepassword demo@example.com" in _seed_output()
