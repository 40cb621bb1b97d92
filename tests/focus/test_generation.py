from __future__ import annotations

import random
import threading
from datetime import date, timedelta
from io import StringIO
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from accounts.models import User
from accounts.profile_services import profile_update
from core.versioning import BaseVersion
from focus.models import FocusCard
from focus.services import focus_card_generate, pick_items
from lists.models import Item
from lists.services import item_update, list_update
from tests.conftest import RACES
from tests.factories import ItemFactory, ListFactory, UserFactory

DAY = date(2026, 5, 4)


def _ids(card: FocusCard) -> list[Any]:
    return list(card.entries.order_by("position").values_list("item_id", flat=True))


def _prefs(user: User, **preferences: Any) -> None:
    from accounts.models import Profile

    profile = Profile.objects.get(user=user)
    profile_update(user=user, base=BaseVersion(version=profile.version), data={"preferences": preferences})


def test_the_score_orders_overdue_then_today_then_priority_then_due_then_age(user: User) -> None:
    lst = ListFactory.create(user=user)
    undated_p1 = ItemFactory.create(list=lst, priority=1)
    later_p2 = ItemFactory.create(list=lst, priority=2, due_date=DAY + timedelta(days=9))
    soon_p2 = ItemFactory.create(list=lst, priority=2, due_date=DAY + timedelta(days=1))
    today_p4 = ItemFactory.create(list=lst, priority=4, due_date=DAY)
    overdue_p4 = ItemFactory.create(list=lst, priority=4, due_date=DAY - timedelta(days=1))
    overdue_p1 = ItemFactory.create(list=lst, priority=1, due_date=DAY - timedelta(days=30))
    old_p3 = ItemFactory.create(list=lst, priority=3)
    new_p3 = ItemFactory.create(list=lst, priority=3)
    expected = [overdue_p1, overdue_p4, today_p4, undated_p1, soon_p2, later_p2, old_p3, new_p3]
    assert pick_items(user, DAY, 10) == [i.pk for i in expected]


def test_the_id_breaks_the_last_tie(user: User) -> None:
    lst = ListFactory.create(user=user)
    with time_machine.travel("2026-05-01T12:00:00Z", tick=False):
        twins = [ItemFactory.create(list=lst) for _ in range(5)]
    assert pick_items(user, DAY, 5) == sorted((i.pk for i in twins), key=lambda pk: pk.hex)


def test_generation_is_deterministic_over_random_items(user: User) -> None:
    rng = random.Random(7)
    lst = ListFactory.create(user=user)
    for _ in range(30):
        due = rng.choice([None, DAY + timedelta(days=rng.randint(-5, 5))])
        ItemFactory.create(list=lst, priority=rng.randint(1, 4), due_date=due)
    first = pick_items(user, DAY, 10)
    assert first == pick_items(user, DAY, 10)
    items = {i.pk: i for i in Item.objects.filter(pk__in=first)}

    def score(i: Item) -> tuple[Any, ...]:
        bucket = 2 if i.due_date is None else (0 if i.due_date < DAY else (1 if i.due_date == DAY else 2))
        return (bucket, i.priority, i.due_date or date.max, i.created_at, i.pk.hex)

    everything = sorted(Item.objects.filter(user=user), key=score)
    assert [i.pk for i in everything[:10]] == first
    assert all(items[pk].status == "open" for pk in first)


def test_the_size_comes_from_the_preferences_else_three(user: User) -> None:
    lst = ListFactory.create(user=user)
    for _ in range(8):
        ItemFactory.create(list=lst)
    card, created = focus_card_generate(user=user, day=DAY)
    assert created
    assert len(_ids(card)) == 3
    _prefs(user, focus_size=6)
    card, _ = focus_card_generate(user=user, day=DAY + timedelta(days=1))
    assert len(_ids(card)) == 6
    card, _ = focus_card_generate(user=user, day=DAY + timedelta(days=2), size=2)
    assert len(_ids(card)) == 2


def test_nothing_comes_from_archived_lists_done_items_or_another_user(user: User, other_user: User) -> None:
    archived = ListFactory.create(user=user)
    ItemFactory.create(list=archived, priority=1)
    list_update(user=user, list_id=archived.pk, base=BaseVersion(version=1), data={"archived": True})
    lst = ListFactory.create(user=user)
    done = ItemFactory.create(list=lst, priority=1)
    item_update(user=user, item_id=done.pk, base=BaseVersion(version=1), data={"status": "done"})
    mine = ItemFactory.create(list=lst, priority=4)
    ItemFactory.create(list=ListFactory.create(user=other_user), priority=1)
    card, _ = focus_card_generate(user=user, day=DAY, size=10)
    assert _ids(card) == [mine.pk]


def test_regenerate_keeps_done_items_and_repicks_open_ones(user: User) -> None:
    lst = ListFactory.create(user=user)
    a, b, c = (ItemFactory.create(list=lst, priority=p) for p in (1, 2, 3))
    card, _ = focus_card_generate(user=user, day=DAY, size=2)
    assert _ids(card) == [a.pk, b.pk]
    item_update(user=user, item_id=b.pk, base=BaseVersion(version=1), data={"status": "done"})
    d = ItemFactory.create(list=lst, priority=1)
    same, created = focus_card_generate(user=user, day=DAY, size=2)
    assert not created
    assert _ids(same) == [a.pk, b.pk]
    card, created = focus_card_generate(user=user, day=DAY, size=3, regenerate=True)
    assert not created
    assert _ids(card) == [b.pk, a.pk, d.pk]
    assert card.version == 2
    assert c.pk not in _ids(card)


def test_an_empty_pool_gives_an_empty_card(user: User) -> None:
    card, created = focus_card_generate(user=user, day=DAY)
    assert created
    assert _ids(card) == []


def _auto_users(n: int, tz: str = "UTC") -> list[User]:
    users = [UserFactory.create(timezone=tz) for _ in range(n)]
    for user in users:
        ItemFactory.create(list=ListFactory.create(user=user))
        _prefs(user, focus_auto_generate=True)
    return users


def test_generate_focus_cards_creates_todays_card_once(db: Any) -> None:
    users = _auto_users(3)
    UserFactory.create()  # did not ask for it
    out = StringIO()
    call_command("generate_focus_cards", stdout=out)
    assert "3 users checked, 3 cards created, 0 already had one" in out.getvalue()
    out = StringIO()
    call_command("generate_focus_cards", stdout=out)
    assert "3 users checked, 0 cards created, 3 already had one" in out.getvalue()
    assert FocusCard.objects.count() == 3
    assert set(FocusCard.objects.values_list("user_id", flat=True)) == {u.pk for u in users}


def test_generate_focus_cards_uses_each_users_local_today(db: Any) -> None:
    auckland = _auto_users(1, "Pacific/Auckland")[0]
    los_angeles = _auto_users(1, "America/Los_Angeles")[0]
    with time_machine.travel("2026-05-04T20:00:00Z", tick=False):
        call_command("generate_focus_cards", stdout=StringIO())
    assert FocusCard.objects.get(user=auckland).date == date(2026, 5, 5)
    assert FocusCard.objects.get(user=los_angeles).date == date(2026, 5, 4)


def test_generate_focus_cards_costs_a_bounded_number_of_queries_per_user(
    db: Any, django_assert_max_num_queries: Any
) -> None:
    _auto_users(4)
    # A fixed number per user (the spaces of the items assigned to the user, lock, check, the spaces the user
    # sees, pick, insert, entries, change record, counter), whatever the data.
    with django_assert_max_num_queries(4 * 14 + 2):
        call_command("generate_focus_cards", stdout=StringIO())
    with django_assert_max_num_queries(4 * 1 + 2):
        call_command("generate_focus_cards", stdout=StringIO())


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@RACES
def test_generate_focus_cards_run_twice_at_once_makes_one_card_per_user() -> None:
    users = _auto_users(6)
    errors: list[BaseException] = []
    barrier = threading.Barrier(3)

    def run() -> None:
        try:
            barrier.wait()
            call_command("generate_focus_cards", stdout=StringIO())
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert FocusCard.objects.count() == len(users)
    assert sorted(FocusCard.objects.values_list("user_id", flat=True)) == sorted(u.pk for u in users)
