"""Everything that lists the synced types is built from the sync registry, and agrees with it: the push
contract's `type`, the export's sections and their references, the serializers' fields, the docs."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from rest_framework.serializers import ChoiceField, Serializer

from portability.services import account_export, section_references, sections
from sync import registry
from sync.fields import SERVER_FIELDS, entity_data, fields_of
from sync.serializers import SyncOperationSerializer

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]
TYPES = [
    "profile",
    "list",
    "item",
    "focus_card",
    "anti_todo",
    "workspace",
    "member",
    "invitation",
    "reminder",
    "notification",
]


def test_the_registry_holds_the_contracts_types_in_order() -> None:
    assert registry.names() == TYPES


def test_the_push_operations_type_is_the_registrys() -> None:
    field = SyncOperationSerializer().fields["type"]

    assert isinstance(field, ChoiceField)
    assert list(field.choices) == registry.names()


def test_the_committed_schema_names_the_registrys_types() -> None:
    schema = yaml.safe_load((ROOT / "docs/api/openapi.yaml").read_text())

    components = schema["components"]["schemas"]
    assert list(components["Change"]["discriminator"]["mapping"]) == registry.names()
    pushable = [t.name for t in registry.all_types() if t.create or t.update or t.delete]
    assert list(components["Operation"]["discriminator"]["mapping"]) == pushable


def test_the_client_guide_names_the_registrys_types() -> None:
    guide = (ROOT / "docs/api/sync.md").read_text()
    listed = re.search(r"Types: `([a-z_, ]+)`", guide)

    assert listed is not None
    assert listed.group(1).split(", ") == registry.names()


def test_an_export_has_one_section_per_writable_type_in_dependency_order(user: Any) -> None:
    # Workspaces are shared, not one person's data: they are not exported.
    writable = [t for t in registry.all_types() if t.create is not None and t.name != "workspace"]

    assert [sync_type for _, sync_type in sections()] == writable
    assert [section for section, _ in sections()] == [
        "lists",
        "items",
        "focus_cards",
        "anti_todo",
        "reminders",
    ]
    stream = account_export(user=user)
    document = json.loads(b"".join(stream))
    stream.close()
    assert [key for key in document if key not in ("format", "format_version", "exported_at")] == [
        "profile",
        "workspaces",  # what the lists' `workspace` name, not a section of entities
        *(section for section, _ in sections()),
    ]


def test_a_section_refers_only_to_sections_before_it() -> None:
    order = [section for section, _ in sections()]

    assert section_references() == {
        "lists": {},
        "items": {"list": "lists"},
        "focus_cards": {"items": "items"},
        "anti_todo": {"item": "items"},
        "reminders": {"item": "items"},
    }
    for section, fields in section_references().items():
        assert all(order.index(target) < order.index(section) for target in fields.values())


@pytest.mark.parametrize("name", TYPES)
def test_each_types_serializer_accepts_and_shows_its_field_list(name: str) -> None:
    sync_type = registry.require(name)
    serializer = sync_type.serializer()
    assert isinstance(serializer, Serializer)
    fields = serializer.fields

    assert set(sync_type.model.sync_fields) <= set(fields)


@pytest.mark.parametrize("name", ["list", "item", "focus_card", "anti_todo", "reminder", "notification"])
def test_the_feed_columns_are_the_field_list(name: str) -> None:
    sync_type = registry.require(name)
    assert sync_type.feed_columns is not None
    own = [field.name for field in fields_of(sync_type.model)]

    assert list(sync_type.feed_columns.fields) == own
    assert own == [
        "id",
        *(n for n in sync_type.model.sync_fields if n in own),
        *SERVER_FIELDS,
    ]


def test_a_create_records_every_field_of_the_list(user: Any) -> None:
    from reminders.services import notification_create
    from sync.models import ChangeRecord
    from sync.spaces import visible_space_ids
    from tests.factories import (
        AntiTodoEntryFactory,
        FocusCardFactory,
        ItemFactory,
        ReminderFactory,
        WorkspaceFactory,
    )
    from workspaces.services import invitation_create

    ItemFactory.create(list__user=user)
    FocusCardFactory.create(user=user, items=[])
    AntiTodoEntryFactory.create(user=user)
    WorkspaceFactory.create(user=user)
    elsewhere = WorkspaceFactory.create()
    invitation_create(user=elsewhere.user, workspace_id=elsewhere.pk, email=user.email, role="viewer")
    ReminderFactory.create(item=ItemFactory.create(list__user=user), user=user)
    notification_create(user=user, kind="reminder", data={})

    for sync_type in registry.all_types():
        first = (
            ChangeRecord.objects.filter(space_id__in=visible_space_ids(user), entity_type=sync_type.name)
            .order_by("number")
            .first()
        )
        assert first is not None, sync_type.name
        assert first.fields == sorted(sync_type.model.sync_fields), sync_type.name


def test_entity_data_follows_the_field_list(user: Any) -> None:
    from tests.factories import ItemFactory

    item = ItemFactory.create(list__user=user)

    assert list(entity_data(item)) == ["id", *type(item).sync_fields, *SERVER_FIELDS]
