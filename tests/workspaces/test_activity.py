"""The activity log: an entry per change in a workspace, newest first, for members only, pruned after
the retention window."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone

from lists.models import Item, List
from sync.services import change_writer
from sync.spaces import personal_space_id
from tests.factories import ItemFactory, ListFactory, MemberFactory
from tests.workspaces.conftest import PEOPLE, Team
from workspaces.models import Activity

pytestmark = pytest.mark.django_db


def actions(team: Team, who: str = "viewer") -> list[tuple[str, str, str]]:
    rows = team.client(who).get(team.url("/activity?limit=200")).json()["results"]
    return [(row["action"], row["entity"]["type"], row["entity"]["title"]) for row in rows]


def shared_list(team: Team, name: str = "Groceries") -> List:
    """A list written into the workspace's space through the write path, as the lists app does."""
    with change_writer(team.users["editor"]) as writer:
        writer.lock(team.workspace.space_id)
        a_list = List(name=name, space_id=team.workspace.space_id)
        writer.save(a_list, created=True)
    return a_list


class TestEntries:
    def test_membership_events_are_logged(self, team: Team) -> None:
        logged = actions(team)

        # Newest first: the former member left, after joining; the others joined; the workspace began.
        assert logged[0][0] == "member_left"
        assert [a for a, _t, _n in logged].count("member_joined") == 5
        assert logged[-1] == ("created", "workspace", "Team")

    def test_a_role_change_names_the_member_and_the_new_role(self, team: Team) -> None:
        team.client("owner").patch(team.url(f"/members/{team.users['viewer'].pk}"), {"role": "editor"})

        row = team.client("viewer").get(team.url("/activity")).json()["results"][0]

        assert row["action"] == "role_changed"
        assert row["entity"] == {
            "type": "member",
            "id": row["entity"]["id"],
            "title": team.users["viewer"].display_name,
        }
        assert row["fields"] == {"role": "editor"}
        assert row["actor"] == {"id": str(team.users["owner"].pk), "display_name": "Olive Owner"}
        assert row["at"].endswith("Z")

    def test_a_rename_is_an_update_with_the_new_name(self, team: Team) -> None:
        team.client("admin").patch(team.url(), {"name": "Renamed", "version": 1}, format="json")

        row = team.client("viewer").get(team.url("/activity")).json()["results"][0]

        assert (row["action"], row["entity"]["title"], row["fields"]) == (
            "updated",
            "Renamed",
            {"name": "Renamed"},
        )

    def test_items_created_completed_reopened_and_deleted(self, team: Team) -> None:
        a_list = shared_list(team)
        editor = team.users["editor"]
        with change_writer(editor) as writer:
            item = Item(list=a_list, title="Milk", space_id=team.workspace.space_id)
            writer.save(item, created=True)
        with change_writer(editor) as writer:
            item.status, item.completed_at = "done", timezone.now()
            writer.save(item, ["status", "completed_at"])
        with change_writer(editor) as writer:
            item.status, item.completed_at = "open", None
            writer.save(item, ["status", "completed_at"])
        with change_writer(editor) as writer:
            item.title = "Oat milk"
            writer.save(item, ["title"])
        with change_writer(editor) as writer:
            writer.delete(item)

        assert actions(team)[:6] == [
            ("deleted", "item", "Oat milk"),
            ("updated", "item", "Oat milk"),
            ("reopened", "item", "Milk"),
            ("completed", "item", "Milk"),
            ("created", "item", "Milk"),
            ("created", "list", "Groceries"),
        ]

    def test_a_list_moved_in_and_out_is_one_entry_each_not_one_per_item(self, team: Team) -> None:
        editor = team.users["editor"]
        a_list = ListFactory.create(user=editor, name="Moving")
        ItemFactory.create(list=a_list)
        ItemFactory.create(list=a_list)
        space_id = team.workspace.space_id
        with change_writer(editor, personal=False) as writer:  # what the lists app's move does
            writer.lock(a_list.space_id, space_id)
            writer.move(a_list, space_id, [])
            writer.move_many(Item, list(a_list.items.values_list("pk", flat=True)), space_id)
        personal = personal_space_id(editor)
        with change_writer(editor, personal=False) as writer:
            writer.lock(space_id, personal)
            writer.move(a_list, personal, [])
            writer.move_many(Item, list(a_list.items.values_list("pk", flat=True)), personal)

        assert actions(team)[:2] == [("moved_out", "list", "Moving"), ("moved_in", "list", "Moving")]
        assert not Activity.objects.filter(entity_type="item").exists()

    def test_the_lists_api_in_a_workspace_is_logged(self, team: Team) -> None:
        editor = team.client("editor")
        list_id = editor.post(
            "/api/v1/lists", {"name": "Chores", "workspace": str(team.workspace.pk)}
        ).json()["id"]
        item = editor.post("/api/v1/items", {"list": list_id, "title": "Bins"}).json()
        viewer_id = str(team.users["viewer"].pk)
        item = editor.patch(f"/api/v1/items/{item['id']}", {"assignee": viewer_id, "version": 1}).json()
        editor.patch(f"/api/v1/items/{item['id']}", {"status": "done", "version": 2}, format="json")

        rows = team.client("viewer").get(team.url("/activity")).json()["results"][:4]

        assert [(row["action"], row["entity"]["title"]) for row in rows] == [
            ("completed", "Bins"),
            ("assigned", "Bins"),
            ("created", "Bins"),
            ("created", "Chores"),
        ]
        assert rows[1]["fields"] == {"assignee": viewer_id}
        assert rows[0]["fields"]["status"] == "done"
        assert {row["actor"]["id"] for row in rows} == {str(team.users["editor"].pk)}

    def test_personal_changes_are_in_no_log(self, team: Team) -> None:
        before = Activity.objects.count()

        ListFactory.create(user=team.users["editor"])

        assert Activity.objects.count() == before

    def test_a_deleted_workspace_takes_its_log_with_it(self, team: Team) -> None:
        team.client("owner").delete(team.url() + "?version=1")

        assert not Activity.objects.filter(workspace_id=team.workspace.pk).exists()


class TestReading:
    @pytest.mark.parametrize("who", PEOPLE)
    def test_members_read_it_and_no_one_else(self, team: Team, who: str) -> None:
        response = team.client(who).get(team.url("/activity"))

        assert response.status_code == (404 if who in ("outsider", "former") else 200)

    def test_pages_walk_newest_first_without_gaps(self, team: Team) -> None:
        for n in range(5):
            shared_list(team, f"L{n}")
        client = team.client("viewer")
        every = [row["id"] for row in client.get(team.url("/activity?limit=200")).json()["results"]]

        seen: list[str] = []
        url: str | None = team.url("/activity?limit=3")
        while url:
            page = client.get(url).json()
            seen += [row["id"] for row in page["results"]]
            url = page["next"]

        assert seen == every
        assert len(every) == Activity.objects.filter(workspace=team.workspace).count()

    @pytest.mark.parametrize("size", [3, 30])
    def test_the_page_costs_the_same_whatever_its_size(
        self, team: Team, size: int, django_assert_num_queries: Any
    ) -> None:
        for n in range(size):
            shared_list(team, f"L{n}")
        client = team.client("viewer")
        # 1: the authenticated user (JWT), 2: the workspace, 3 and 4: the caller's role (sync.spaces: is it
        # their personal space, their membership), 5: the page with the actors.
        with django_assert_num_queries(5):
            response = client.get(team.url(f"/activity?limit={size}"))
        assert len(response.json()["results"]) == size

    @pytest.mark.parametrize("query", ["limit=0", "limit=x", "cursor=%%%", "ordering=title"])
    def test_bad_parameters_are_a_400(self, team: Team, query: str) -> None:
        assert team.client("viewer").get(team.url(f"/activity?{query}")).status_code == 400


class TestPruning:
    def test_entries_older_than_the_retention_window_go(self, team: Team, settings: Any) -> None:
        settings.WORKSPACE_ACTIVITY_RETENTION_DAYS = 90
        old = Activity.objects.filter(workspace=team.workspace).order_by("at")[:2]
        old_ids = [entry.pk for entry in old]
        Activity.objects.filter(pk__in=old_ids).update(at=timezone.now() - timedelta(days=91))
        Activity.objects.filter(pk__in=old_ids[1:]).update(at=timezone.now() - timedelta(days=89))
        kept = Activity.objects.count() - 1

        call_command("prune_sync", "--batch-size", "1")

        assert Activity.objects.count() == kept
        assert not Activity.objects.filter(pk=old_ids[0]).exists()

    def test_a_new_member_sees_what_happened_before_they_joined(self, team: Team) -> None:
        newcomer = MemberFactory.create(workspace=team.workspace, role="viewer").user

        from tests.conftest import client_for

        rows = client_for(newcomer).get(team.url("/activity?limit=200")).json()["results"]
        assert rows[-1]["action"] == "created"
