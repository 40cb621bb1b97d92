"""The role matrix through `POST sync` (docs/api/sync.md, push): the same operations as over REST, for
lists, items and focus cards holding workspace items. A write beyond the role is `invalid` with
`permission_denied`, a non-member's with `not_found` (a list reference they cannot see: `validation_error`,
as for one that does not exist), and changes nothing."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from focus.models import FocusCard
from tests.lists.conftest import EDITORS, MEMBERS, PEOPLE, Shared, snapshot
from tests.sync.helpers import op, push

pytestmark = pytest.mark.django_db


def _result(shared: Shared, who: str, operation: dict[str, Any]) -> dict[str, Any]:
    response = push(shared.team.client(who), [operation])
    assert response.status_code == 200, response.content
    [result] = response.json()["results"]
    return dict(result)


def _expected_code(who: str, *, stranger: str = "not_found") -> str | None:
    if who in EDITORS:
        return None
    return "permission_denied" if who == "viewer" else stranger


def _check(result: dict[str, Any], code: str | None, before: tuple[Any, ...]) -> None:
    if code is None:
        assert result["status"] == "applied", result
        return
    assert result["status"] == "invalid", result
    assert result["error"]["code"] == code
    assert snapshot() == before


def _operations(shared: Shared) -> dict[str, tuple[dict[str, Any], str]]:
    """Each operation, and what a stranger gets for it."""
    workspace = str(shared.team.workspace.pk)
    return {
        "list create": (op("create", "list", uuid.uuid4(), name="New", workspace=workspace), "not_found"),
        "list update": (op("update", "list", shared.list.pk, 1, name="Renamed"), "not_found"),
        "list delete": (op("delete", "list", shared.list.pk, 1), "not_found"),
        "item create": (
            op("create", "item", uuid.uuid4(), list=str(shared.list.pk), title="New"),
            "validation_error",
        ),
        "item update": (op("update", "item", shared.item.pk, 1, status="done"), "not_found"),
        "item delete": (op("delete", "item", shared.item.pk, 1), "not_found"),
        "list move out": (op("update", "list", shared.list.pk, 1, workspace=None), "not_found"),
    }


OPERATIONS = (
    "list create",
    "list update",
    "list delete",
    "item create",
    "item update",
    "item delete",
    "list move out",
)


@pytest.mark.parametrize("operation", OPERATIONS)
@pytest.mark.parametrize("who", PEOPLE)
def test_a_pushed_write_needs_editor(shared: Shared, who: str, operation: str) -> None:
    pushed, stranger = _operations(shared)[operation]
    before = snapshot()
    _check(_result(shared, who, pushed), _expected_code(who, stranger=stranger), before)


@pytest.mark.parametrize("who", PEOPLE)
def test_a_focus_card_may_hold_a_workspace_item_its_owner_sees(shared: Shared, who: str) -> None:
    card_id = uuid.uuid4()
    pushed = op("create", "focus_card", card_id, date="2026-03-01", items=[str(shared.item.pk)])
    before = snapshot()
    result = _result(shared, who, pushed)
    if who in MEMBERS:
        # A card is personal: a viewer plans shared work too.
        assert result["status"] == "applied", result
        assert FocusCard.objects.get(pk=card_id).entries.get().item_id == shared.item.pk
    else:
        assert result["status"] == "invalid", result
        assert snapshot() == before
        assert not FocusCard.objects.filter(pk=card_id).exists()


@pytest.mark.parametrize("what", ["item", "list"])
def test_deleting_what_moved_out_of_sight_is_applied(shared: Shared, what: str) -> None:
    """A member who got the tombstone of an entity that moved where they cannot see it (an editor moved
    the list to their personal space) and deletes it offline: already gone for them, so `applied`
    (docs/api/sync.md), and nothing changes."""
    from core.versioning import BaseVersion
    from lists.services import list_update

    list_update(
        user=shared.team.users["editor"],
        list_id=shared.list.pk,
        base=BaseVersion(version=1),
        data={"workspace": None},
    )
    entity = shared.item if what == "item" else shared.list
    before = snapshot()
    response = push(shared.team.client("admin"), [op("delete", what, entity.pk, 1)])
    assert response.json()["results"][0]["status"] == "applied", response.content
    assert snapshot() == before
