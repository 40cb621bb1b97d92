"""Export and import with workspaces (docs/api/export-import.md, Workspaces): the export holds the user's
workspaces and what they see of them; an import puts a list into its workspace where the importer is
editor, and makes it personal otherwise."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

from accounts.models import User
from lists.models import Item, List
from sync.models import ChangeRecord
from tests.conftest import client_for
from tests.factories import ItemFactory, ListFactory, MemberFactory, UserFactory, WorkspaceFactory
from tests.portability.helpers import exported

pytestmark = pytest.mark.django_db


@pytest.fixture
def team(db: Any) -> dict[str, Any]:
    owner = UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner, name="Team")
    editor = MemberFactory.create(workspace=workspace, role="editor").user
    viewer = MemberFactory.create(workspace=workspace, role="viewer").user
    shared = ListFactory.create(user=editor, workspace=workspace.pk, name="Shared")
    item = ItemFactory.create(list=shared, user=editor, title="Shared item", assignee=viewer.pk)
    own = ListFactory.create(user=editor, name="Own")
    ItemFactory.create(list=own, user=editor, title="Own item", assignee=editor.pk)
    return {
        "workspace": workspace,
        "owner": owner,
        "editor": editor,
        "viewer": viewer,
        "shared": shared,
        "item": item,
    }


def _import(user: User, document: Any, mode: str = "merge") -> Any:
    return client_for(user).post("/api/v1/user/import", {"document": document, "mode": mode}, format="json")


def _fresh_ids(document: dict[str, Any]) -> dict[str, Any]:
    """The document as a backup whose entities are all gone: every list and item under a new id."""
    copied = copy.deepcopy(document)
    new = {row["id"]: str(uuid.uuid4()) for section in ("lists", "items") for row in copied[section]}
    for section in ("lists", "items"):
        for row in copied[section]:
            row["id"] = new[row["id"]]
            if "list" in row:
                row["list"] = new[row["list"]]
    copied["focus_cards"] = copied["anti_todo"] = []
    return copied


def test_the_export_names_the_workspaces_and_holds_what_the_user_sees_there(team: dict[str, Any]) -> None:
    document = exported(client_for(team["viewer"]))
    assert document["workspaces"] == [{"id": str(team["workspace"].pk), "name": "Team", "role": "viewer"}]
    assert [(row["name"], row["workspace"]) for row in document["lists"]] == [
        ("Shared", str(team["workspace"].pk))
    ]
    assert [row["title"] for row in document["items"]] == ["Shared item"]


def test_an_outsiders_export_holds_nothing_of_the_workspace(team: dict[str, Any], user: User) -> None:
    document = exported(client_for(user))
    assert (document["workspaces"], document["lists"], document["items"]) == ([], [], [])


def test_merging_ones_own_export_with_workspace_data_changes_nothing(team: dict[str, Any]) -> None:
    for who in ("editor", "viewer"):
        document = exported(client_for(team[who]))
        records = ChangeRecord.objects.count()
        response = _import(team[who], document)
        assert response.status_code == 200, response.content
        assert set(response.json()["imported"].values()) == {0}
        assert ChangeRecord.objects.count() == records


def test_an_editor_imports_a_workspace_list_back_into_the_workspace(team: dict[str, Any]) -> None:
    backup = _fresh_ids(exported(client_for(team["editor"])))
    response = _import(team["editor"], backup)
    assert response.status_code == 200, response.content
    restored = List.objects.get(pk=backup["lists"][0]["id"])
    item = Item.objects.get(pk=backup["items"][0]["id"])
    assert (restored.workspace_id, restored.space_id) == (team["workspace"].pk, team["workspace"].space_id)
    assert (item.space_id, item.assignee_id) == (team["workspace"].space_id, team["viewer"].pk)


@pytest.mark.parametrize("who", ["viewer", "outsider"])
def test_a_workspace_list_becomes_personal_where_the_importer_may_not_edit(
    team: dict[str, Any], user: User, who: str
) -> None:
    importer = user if who == "outsider" else team[who]
    backup = _fresh_ids(exported(client_for(team["editor"])))
    response = _import(importer, backup)
    assert response.status_code == 200, response.content
    restored = List.objects.get(pk=backup["lists"][0]["id"])
    assert (restored.workspace_id, restored.space.user_id, restored.user_id) == (
        None,
        importer.pk,
        importer.pk,
    )
    assignees = dict(
        Item.objects.filter(list__in=[r["id"] for r in backup["lists"]]).values_list("title", "assignee_id")
    )
    # The viewer was the shared item's assignee and sees their own list; nobody else may be named there.
    assert assignees == {
        "Shared item": importer.pk if who == "viewer" else None,
        "Own item": None,
    }


def test_replace_keeps_what_the_user_shares_in_workspaces(team: dict[str, Any]) -> None:
    document = exported(client_for(team["editor"]))
    emptied = {**document, "lists": [], "items": [], "focus_cards": [], "anti_todo": []}
    response = _import(team["editor"], emptied, mode="replace")
    assert response.status_code == 200, response.content
    assert list(List.objects.values_list("name", flat=True)) == ["Shared"]
    assert Item.objects.filter(pk=team["item"].pk).exists()


@pytest.mark.parametrize(
    ("workspaces", "where"),
    [("no", "workspaces"), (["x"], "workspaces[0]"), ([{"id": "nope"}], "workspaces[0].id")],
)
def test_a_bad_workspaces_member_is_a_400_naming_it(
    team: dict[str, Any], workspaces: Any, where: str
) -> None:
    document = exported(client_for(team["editor"]))
    lists = List.objects.count()
    response = _import(team["editor"], {**document, "workspaces": workspaces})
    assert response.status_code == 400
    assert where in response.json()["errors"]
    assert List.objects.count() == lists
