"""`manage.py seed_load`: bulk rows that the API treats like rows its own services wrote."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import Count, Max
from rest_framework.test import APIClient

from accounts.models import Profile, User
from devdata.management.commands.seed_load import HEAVY_EMAIL, SYNC_EMAIL
from focus.models import FocusCard
from lists.models import Item, List
from sync.models import ChangeRecord, Space
from tests.conftest import client_for
from tests.sync.helpers import pull_all

pytestmark = pytest.mark.django_db

SMALL = {"light_users": 3, "sync_users": 2, "open_items": 100, "done_items": 400, "seed": 7}


@pytest.fixture
def seeded(db: Any) -> None:
    call_command("seed_load", **SMALL, stdout=_Null())


class _Null:
    def write(self, _text: str) -> None:
        pass


def test_it_seeds_the_heavy_the_sync_and_the_light_users(seeded: None) -> None:
    heavy = User.objects.get(email=HEAVY_EMAIL)
    assert User.objects.filter(email__endswith="@load.daymark.invalid").count() == 1 + 2 + 3
    assert List.objects.filter(user=heavy).count() == 50
    assert Item.objects.filter(user=heavy, status="open").count() == 100
    assert Item.objects.filter(user=heavy, status="done").count() == 400
    assert FocusCard.objects.filter(user=heavy).count() == 365
    assert Item.objects.filter(user__email=SYNC_EMAIL).count() == 100
    assert Item.objects.filter(user__email="sync-2@load.daymark.invalid").count() == 100
    assert Profile.objects.count() == Space.objects.count() == User.objects.count()


def test_every_entity_has_its_own_change_number_and_record(seeded: None) -> None:
    for user in User.objects.all():
        state = Space.objects.get(user=user)
        numbers = [
            number
            for model in (Profile, List, Item, FocusCard)
            for number in model.objects.filter(user=user).values_list("change_number", flat=True)
        ]
        assert len(numbers) == len(set(numbers))
        records = ChangeRecord.objects.filter(space__user=user).aggregate(n=Count("id"), top=Max("number"))
        assert state.last_change_number == records["top"] == max(numbers)
    assert not Item.objects.filter(version__lt=1).exists()


def test_the_seeded_data_works_through_the_api(seeded: None) -> None:
    heavy = User.objects.get(email=HEAVY_EMAIL)
    client = client_for(heavy)
    a_list = List.objects.filter(user=heavy).first()
    assert a_list is not None
    page = client.get(f"/api/v1/items?list={a_list.pk}").json()
    item = page["results"][0]

    edited = client.patch(f"/api/v1/items/{item['id']}", {"title": "edited", "version": item["version"]})
    assert edited.status_code == 200
    assert edited.json()["version"] == 2
    # A stale base version merges over the seeded change record (a different field) ...
    merged = client.patch(f"/api/v1/items/{item['id']}", {"priority": 5 - item["priority"], "version": 1})
    assert merged.status_code == 200, merged.content
    # ... and an incremental sync from just before sees both writes.
    head = Space.objects.get(user=heavy).last_change_number
    answer = client.get(f"/api/v1/sync?cursor={head - 2}").json()
    assert [c["id"] for c in answer["changes"]] == [item["id"]]

    insights = client.get("/api/v1/user/insights?from=2000-01-01&to=2000-12-31")
    assert insights.status_code == 200
    # The seeded completions are the user's own (`completed_by`), which is what insights count.
    assert client.get("/api/v1/user/insights").json()["items"]["completed"] > 0


def test_a_full_sync_of_the_sync_user_reads_every_entity(seeded: None) -> None:
    user = User.objects.get(email=SYNC_EMAIL)
    _cursor, changes = pull_all(client_for(user), limit=37)
    assert sum(c["type"] == "item" for c in changes) == 100
    assert len(changes) == 1 + 50 + 100


def test_it_leaves_seeded_data_alone_and_reseeds_on_reset(seeded: None) -> None:
    before = set(Item.objects.values_list("pk", flat=True))
    call_command("seed_load", **SMALL, stdout=_Null())
    assert set(Item.objects.values_list("pk", flat=True)) == before
    call_command("seed_load", **SMALL, reset=True, stdout=_Null())
    assert set(Item.objects.values_list("pk", flat=True)) == before  # the same seed, the same ids


def test_the_load_tokens_authenticate_their_users(seeded: None, tmp_path: Any) -> None:
    out = tmp_path / "tokens.json"
    call_command("load_tokens", out=str(out), light=2, stdout=_Null())
    document = json.loads(out.read_text())
    assert [entry["email"] for entry in document["sync"]] == [SYNC_EMAIL, "sync-2@load.daymark.invalid"]
    assert (len(document["light"]), document["light_total"]) == (2, 3)
    for entry in [document["heavy"], *document["sync"], *document["light"]]:
        client = APIClient(HTTP_AUTHORIZATION=f"Bearer {entry['access']}")
        answer = client.get(f"/api/v1/items?list={entry['list']}&limit=1")
        assert answer.status_code == 200
        assert answer.json()["results"][0]["list"] == entry["list"]
