"""Synced entities are written only by the services (tests/write_path.py says how the code is read)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.apps import apps
from django.db import models

from core.models import OwnedModel
from tests.write_path import check_source, check_tree, snake_case

ROOT = Path(__file__).resolve().parent.parent
# Not application code: the tests build their data directly, the virtualenv is not ours.
SKIP = {"tests", ".venv", "node_modules", "scripts"}


def synced_models() -> set[type[models.Model]]:
    """Every owned (synced) model, and every model holding part of one's data (a focus card's entries)."""
    owned = {model for model in apps.get_models() if issubclass(model, OwnedModel)}
    parts = {
        model
        for model in apps.get_models()
        if model not in owned
        and any(
            field.many_to_one and field.related_model in owned and field.name != "user"
            for field in model._meta.get_fields()
        )
    }
    return owned | parts


def model_names() -> set[str]:
    return {model.__name__ for model in synced_models()}


def variable_names() -> set[str]:
    """Names that say they hold a synced entity: `item`, `focus_card`, `card`, `entry`, `entity`."""
    names = {snake_case(model.__name__) for model in synced_models()}
    names |= {getattr(model, "sync_type", "") for model in synced_models()} - {""}
    return names | {"card", "entry", "entity"}


def test_no_synced_model_is_written_outside_the_services() -> None:
    violations = check_tree(ROOT, model_names(), variable_names(), skip=SKIP)

    assert not violations, "Write synced entities through their services:\n" + "\n".join(map(str, violations))


VIEW = """
from lists.models import Item
from core.views import VersionedModelViewSet

class ItemViewSet(VersionedModelViewSet):
    model = Item

    def perform_update(self, serializer):
        {body}
"""


@pytest.mark.parametrize(
    "body",
    [
        "item.save()",
        "item = self.get_object(); item.title = 'x'; item.save()",
        "Item.objects.filter(pk=self.kwargs['pk']).update(title='x')",
        "Item.objects.for_user(self.request.user).filter(status='done').delete()",
        "Item.objects.create(title='x', list_id=self.kwargs['list'])",
        "self.get_object().delete()",
        "Item(title='x').save()",
        "for one in Item.objects.all(): one.save()",
        "entity = self.get_queryset().first(); entity.save(update_fields=['title'])",
        "[i.save() for i in Item.objects.all()]",
    ],
)
def test_the_check_finds_a_write_outside_the_services(body: str) -> None:
    source = VIEW.format(body=body)

    violations = check_source(source, "lists/views.py", model_names(), variable_names())

    assert violations, body
    assert {violation.path for violation in violations} == {"lists/views.py"}


def test_the_check_finds_an_annotated_parameter_written_in_a_helper() -> None:
    source = "from focus.models import FocusCard as Card\n\ndef touch(c: Card) -> None:\n    c.save()\n"

    assert [v.line for v in check_source(source, "focus/views.py", model_names(), variable_names())] == [4]


@pytest.mark.parametrize(
    "body",
    [
        "serializer.save()",
        "Item.objects.filter(pk=self.kwargs['pk']).exists()",
        "self.request.session.save()",
        "cache.delete('x')",
        "services.item_update(user=self.request.user, item_id=self.kwargs['pk'], base=None, data={})",
    ],
)
def test_the_check_leaves_reads_and_other_objects_alone(body: str) -> None:
    assert check_source(VIEW.format(body=body), "lists/views.py", model_names(), variable_names()) == []


def test_the_check_covers_every_synced_model_and_its_parts() -> None:
    assert {"Profile", "List", "Item", "FocusCard", "FocusCardItem", "AntiTodoEntry"} <= model_names()
