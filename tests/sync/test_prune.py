"""manage.py prune_sync: what is past retention goes, in batches; older cursors become 410."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from accounts.models import Profile
from core.models import IdempotencyKey
from core.versioning import BaseVersion
from lists.services import item_delete, item_update
from sync.models import ChangeRecord, ProcessedOperation, Space
from tests.sync.helpers import SYNC_URL, make_item, make_list, op, position, pull, pull_all, push

pytestmark = pytest.mark.django_db


def _age(queryset: Any, days: float) -> None:
    queryset.update(created_at=timezone.now() - timedelta(days=days))


def _prune(*args: str) -> str:
    out = StringIO()
    call_command("prune_sync", *args, stdout=out)
    return out.getvalue()


def test_it_removes_old_change_records_in_batches_and_keeps_recent_ones(
    user: Any, user_client: Any, settings: Any
) -> None:
    lst = make_list(user=user)
    old_items = [make_item(list=lst) for _ in range(3)]
    item_delete(user=user, item_id=old_items[0].pk, base=BaseVersion(1))
    old_cursor = position(user, pull(user_client)["cursor"])
    _age(ChangeRecord.objects.all(), settings.SYNC_RETENTION_DAYS + 1)
    recent = make_item(list=lst)
    old_count = ChangeRecord.objects.filter(number__lte=old_cursor).count()

    output = _prune("--batch-size", "2", "--verbosity", "2")

    assert not ChangeRecord.objects.filter(number__lte=old_cursor).exists()
    assert ChangeRecord.objects.filter(entity_id=recent.pk).exists()
    assert Space.objects.get(user=user).pruned_through == old_cursor
    assert f"Removed {old_count} change records (1 tombstones) of 1 spaces" in output
    assert output.count("removed 2 change records") == old_count // 2


def test_a_cursor_older_than_the_prune_gets_410_and_a_full_sync_still_works(
    user: Any, user_client: Any, settings: Any
) -> None:
    lst = make_list(user=user)
    early_cursor = pull(user_client)["cursor"]
    items = [make_item(list=lst) for _ in range(3)]
    item_delete(user=user, item_id=items[0].pk, base=BaseVersion(1))
    late_cursor = pull(user_client)["cursor"]
    _age(ChangeRecord.objects.all(), settings.SYNC_RETENTION_DAYS + 1)

    _prune()

    expired = user_client.get(SYNC_URL, {"cursor": early_cursor})
    assert expired.status_code == 410
    assert expired.json()["code"] == "cursor_expired"
    assert user_client.get(SYNC_URL, {"cursor": late_cursor}).status_code == 200
    _, changes = pull_all(user_client, limit=1)
    profile = str(Profile.objects.get(user=user).pk)
    assert {c["id"] for c in changes} == {profile, str(lst.pk), str(items[1].pk), str(items[2].pk)}


def test_records_inside_the_retention_window_are_kept(user: Any, user_client: Any, settings: Any) -> None:
    make_item(list=make_list(user=user))
    _age(ChangeRecord.objects.all(), settings.SYNC_RETENTION_DAYS - 1)
    before = ChangeRecord.objects.count()

    output = _prune()

    assert ChangeRecord.objects.count() == before
    assert Space.objects.get(user=user).pruned_through == 0
    assert "Removed 0 change records" in output


def test_a_merge_that_needs_a_pruned_record_is_reported_as_a_conflict(
    user: Any, user_client: Any, settings: Any
) -> None:
    item = make_item(list=make_list(user=user))
    item_update(user=user, item_id=item.pk, base=BaseVersion(1), data={"notes": "server"})
    _age(ChangeRecord.objects.all(), settings.SYNC_RETENTION_DAYS + 1)
    _prune()

    [result] = push(user_client, [op("update", "item", item.pk, 1, title="client")]).json()["results"]

    assert result["status"] == "conflict"
    assert result["error"]["conflicting_fields"] == ["title"]


def test_it_removes_old_processed_operations_and_idempotency_keys(
    user: Any, user_client: Any, settings: Any
) -> None:
    push(user_client, [op("create", "list", uuid.uuid4(), name="old")])
    user_client.post("/api/v1/lists", {"name": "a"}, format="json", HTTP_IDEMPOTENCY_KEY="old-key")
    _age(ProcessedOperation.objects.all(), settings.OPERATION_RETENTION_DAYS + 1)
    IdempotencyKey.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS + 1)
    )
    recent_op = op("create", "list", uuid.uuid4(), name="recent")
    push(user_client, [recent_op])
    user_client.post("/api/v1/lists", {"name": "b"}, format="json", HTTP_IDEMPOTENCY_KEY="new-key")

    output = _prune("--batch-size", "1")

    assert list(ProcessedOperation.objects.values_list("op_id", flat=True)) == [uuid.UUID(recent_op["op_id"])]
    assert list(IdempotencyKey.objects.values_list("key", flat=True)) == ["new-key"]
    assert "1 processed operations, 1 idempotency keys" in output


def test_another_users_records_keep_their_own_watermark(
    user: Any, other_user: Any, other_client: Any, settings: Any
) -> None:
    make_list(user=user)
    _age(ChangeRecord.objects.filter(space__user=user), settings.SYNC_RETENTION_DAYS + 1)
    make_list(user=other_user)

    _prune()

    assert Space.objects.get(user=user).pruned_through > 0
    assert Space.objects.get(user=other_user).pruned_through == 0
    assert other_client.get(SYNC_URL, {"cursor": 1}).status_code == 200


def test_a_batch_size_below_one_is_refused() -> None:
    with pytest.raises(CommandError):
        _prune("--batch-size", "0")
