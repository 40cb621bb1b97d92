"""`core.db.json_rows.insert_json_rows` stores exactly what the ORM's bulk insert stores, refuses what the
ORM's insert refuses, and is what PostgreSQL writes of a push's change records and processed operations."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from django.db.models import Model
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core.db.json_rows import insert_json_rows
from sync.models import ChangeRecord, ProcessedOperation
from sync.spaces import personal_space_id

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

AWKWARD = ['a "quoted" title', "back\\slash", "ünïcödé ✓", "new\nline", "{not, an, array}", "'single'", ""]
RECORD_COLUMNS = ("space", "number", "entity_type", "entity_id", "version", "fields", "deleted", "actor")


def _stored(model: type[Model], ids: list[int]) -> list[dict]:
    return list(model._default_manager.filter(pk__in=ids).order_by("pk").values())


def _record_row(record: ChangeRecord) -> list:
    return [
        record.space_id,
        record.number,
        record.entity_type,
        record.entity_id,
        record.version,
        record.fields,
        record.deleted,
        record.actor_id,
    ]


def test_rows_are_stored_as_the_orm_stores_them(user):
    space = personal_space_id(user)
    now = timezone.now()

    def records(first: int) -> list[ChangeRecord]:
        return [
            ChangeRecord(
                space_id=space,
                number=first + index,
                entity_type="item",
                entity_id=uuid.UUID(int=index + 1),
                version=index + 1,
                fields=[text, {"nested": [text, None, 1.5, True]}],
                deleted=index % 2 == 0,
                actor_id=user.pk if index % 3 else None,
            )
            for index, text in enumerate(AWKWARD)
        ]

    by_orm = ChangeRecord.objects.bulk_create(records(1_000))
    ours = records(2_000)
    inserted = insert_json_rows(
        connection,
        ChangeRecord,
        RECORD_COLUMNS,
        [_record_row(r) for r in ours],
        constants={"created_at": now},
        returning=("id", "number"),
    )

    assert [number for _, number in inserted] == [r.number for r in ours]
    orm_rows = _stored(ChangeRecord, [r.pk for r in by_orm])
    our_rows = _stored(ChangeRecord, [pk for pk, _ in inserted])
    assert len(our_rows) == len(AWKWARD)
    for orm_row, our_row in zip(orm_rows, our_rows, strict=True):
        assert our_row["created_at"] == now
        for name in ("id", "number", "created_at"):
            del orm_row[name], our_row[name]
        assert our_row == orm_row


def test_a_text_too_long_for_its_column_is_refused_not_cut(user):
    entity_id = uuid.uuid4()
    row = [personal_space_id(user), 10_000, "x" * 33, entity_id, 1, [], False, None]
    with pytest.raises(DataError), transaction.atomic():
        insert_json_rows(
            connection, ChangeRecord, RECORD_COLUMNS, [row], constants={"created_at": timezone.now()}
        )
    assert not ChangeRecord.objects.filter(entity_id=entity_id).exists()


def test_constraints_hold_as_for_any_insert(user):
    op_id = uuid.uuid4()
    constants = {"user": user.pk, "created_at": timezone.now()}

    def insert() -> None:
        insert_json_rows(
            connection,
            ProcessedOperation,
            ("op_id", "result"),
            [[op_id, {"status": "applied"}]],
            constants=constants,
        )

    insert()
    with pytest.raises(IntegrityError), transaction.atomic():
        insert()
    assert ProcessedOperation.objects.get(user=user, op_id=op_id).result == {"status": "applied"}


def test_a_push_stores_its_records_and_operations_in_one_statement_each(user, user_client):
    client = user_client
    list_id = str(uuid.uuid4())
    title = AWKWARD[0] + AWKWARD[1]
    operations: list[dict[str, Any]] = [
        {
            "op_id": str(uuid.uuid4()),
            "type": "list",
            "action": "create",
            "id": list_id,
            "data": {"name": title},
        },
        *(
            {
                "op_id": str(uuid.uuid4()),
                "type": "item",
                "action": "create",
                "id": str(uuid.uuid4()),
                "data": {"list": list_id, "title": text or "-"},
            }
            for text in AWKWARD
        ),
    ]
    with CaptureQueriesContext(connection) as queries:
        answer = client.post("/api/v1/sync", {"operations": operations}, format="json")
    assert answer.status_code == 200, answer.content
    assert {result["status"] for result in answer.json()["results"]} == {"applied"}
    inserts = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    for model in (ChangeRecord, ProcessedOperation):
        into = [sql for sql in inserts if sql.startswith(f'INSERT INTO "{model._meta.db_table}"')]
        assert len(into) == 1, into
        assert "jsonb_array_elements" in into[0]
    stored = {p.op_id: p.result for p in ProcessedOperation.objects.filter(user=user)}
    assert stored == {
        uuid.UUID(o["op_id"]): r for o, r in zip(operations, answer.json()["results"], strict=True)
    }
    pushed = [uuid.UUID(o["id"]) for o in operations]
    records = ChangeRecord.objects.filter(entity_id__in=pushed).order_by("number")
    assert [(r.entity_id, r.version, r.actor_id) for r in records] == [
        (entity_id, 1, user.pk) for entity_id in pushed
    ]
