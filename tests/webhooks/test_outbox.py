"""The outbox: events written in the transaction of the change (docs/api/webhooks.md), for every endpoint
whose owner sees the change's space, with the entity and the actor."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from core.versioning import ANY_VERSION
from lists.models import Item, List
from lists.services import item_create, item_delete, item_update, list_delete, list_update
from tests.factories import ItemFactory, ListFactory, MemberFactory, UserFactory, WorkspaceFactory
from tests.webhooks.conftest import StubResolver, make_webhook
from tests.webhooks.helpers import sent_events, types_of
from webhooks.models import Delivery, Event
from workspaces.models import Workspace
from workspaces.services import member_leave

pytestmark = pytest.mark.django_db

URL = "https://hooks.example.com/in"


@pytest.fixture(autouse=True)
def _public_name(resolver: StubResolver) -> None:
    resolver.names["hooks.example.com"] = ["93.184.216.34"]


def a_list(user: User, **fields: Any) -> List:
    return cast(List, ListFactory(user=user, **fields))


class TestEvents:
    def test_an_items_life(self, user: User) -> None:
        listed = a_list(user)
        hook = make_webhook(user, URL)
        item = cast(Item, ItemFactory(list=listed, user=user))
        item_update(user=user, item_id=item.pk, base=ANY_VERSION, data={"title": "renamed"})
        item_update(user=user, item_id=item.pk, base=ANY_VERSION, data={"status": "done"})
        item_update(user=user, item_id=item.pk, base=ANY_VERSION, data={"status": "open"})
        item_delete(user=user, item_id=item.pk, base=ANY_VERSION)
        events = sent_events(hook["id"])
        assert [t for t, _ in events] == [
            "item.created",
            "item.updated",
            "item.completed",
            "item.reopened",
            "item.deleted",
        ]
        created = events[0][1]
        assert set(created) == {"type", "timestamp", "data"}
        assert created["data"]["id"] == str(item.pk)
        assert created["data"]["list"] == str(listed.pk)
        assert created["data"]["actor"] == str(user.pk)
        assert [body["data"].get("version") for _, body in events[:4]] == [1, 2, 3, 4]
        assert events[1][1]["data"]["title"] == "renamed"
        assert events[4][1]["data"] == {"id": str(item.pk), "actor": str(user.pk)}

    def test_a_lists_life(self, user: User) -> None:
        hook = make_webhook(user, URL, ["list.created", "list.updated", "list.deleted"])
        listed = a_list(user)
        ItemFactory(list=listed, user=user)
        list_update(user=user, list_id=listed.pk, base=ANY_VERSION, data={"name": "Groceries"})
        list_delete(user=user, list_id=listed.pk, base=ANY_VERSION)
        assert types_of(hook["id"]) == ["list.created", "list.updated", "list.deleted"]
        updated = sent_events(hook["id"])[1][1]["data"]
        assert updated["name"] == "Groceries"
        assert updated["open_count"] == 1  # as the API answers the list

    def test_only_the_subscribed_types(self, user: User) -> None:
        completed = make_webhook(user, URL, ["item.completed"])
        listed = a_list(user)
        item = cast(Item, ItemFactory(list=listed, user=user))
        item_update(user=user, item_id=item.pk, base=ANY_VERSION, data={"status": "done"})
        assert types_of(completed["id"]) == ["item.completed"]

    def test_a_rolled_back_change_makes_no_event(self, user: User) -> None:
        listed = a_list(user)
        make_webhook(user, URL)
        before = Event.objects.count()
        written = []

        def change_then_fail() -> None:
            with transaction.atomic():
                item_create(user=user, data={"list": listed.pk, "title": "never"})
                written.append(Event.objects.count())  # written with the change...
                raise RuntimeError("the change fails after its write")

        with pytest.raises(RuntimeError):
            change_then_fail()
        assert written == [before + 1]
        assert Event.objects.count() == before  # ...and gone with it
        assert not Item.objects.filter(title="never").exists()

    def test_another_users_changes_never_reach_my_endpoint(self, user: User, other_user: User) -> None:
        hook = make_webhook(user, URL)
        ItemFactory(list=a_list(other_user), user=other_user)
        assert types_of(hook["id"]) == []

    def test_an_inactive_endpoint_gets_nothing(self, user: User) -> None:
        hook = make_webhook(user, URL)
        from webhooks.services import endpoint_update

        endpoint_update(user=user, endpoint_id=hook["id"], active=False)
        ItemFactory(list=a_list(user), user=user)
        assert not Delivery.objects.exists()


class TestReminders:
    def test_a_fired_reminder_is_an_event_of_the_firing_and_editing_it_is_none(self, user: User) -> None:
        from datetime import UTC, datetime, timedelta

        from reminders.firing_services import fire_batch
        from reminders.services import reminder_update
        from tests.factories import ReminderFactory

        noon = datetime(2026, 7, 1, 12, 0, tzinfo=UTC)
        item = cast(Item, ItemFactory(list=a_list(user), user=user))
        reminder = ReminderFactory.create(item=item, user=user, remind_at=noon)
        hook = make_webhook(user, URL, ["reminder.fired"])
        reminder_update(user=user, reminder_id=reminder.pk, base=ANY_VERSION, data={"remind_at": noon})
        assert types_of(hook["id"]) == []
        assert fire_batch(noon + timedelta(seconds=1)) == 1
        [(event_type, body)] = sent_events(hook["id"])
        assert event_type == "reminder.fired"
        assert body["data"]["id"] == str(reminder.pk)
        assert body["data"]["item"] == str(item.pk)
        assert body["data"]["fired_at"] is not None


class TestWorkspaces:
    def test_a_workspace_change_reaches_every_members_endpoints_with_the_actor(self, user: User) -> None:
        member, outsider = cast(User, UserFactory()), cast(User, UserFactory())
        workspace = cast(Workspace, WorkspaceFactory(user=user))
        MemberFactory(workspace=workspace, user=member, role="editor")
        mine, theirs, two = make_webhook(user, URL), make_webhook(member, URL), make_webhook(member, URL)
        nobody = make_webhook(outsider, URL)
        shared = a_list(user, workspace=workspace.pk)
        item = cast(Item, ItemFactory(list=shared, user=member))
        for hook in (mine, theirs, two):
            events = sent_events(hook["id"])
            assert [t for t, _ in events] == ["list.created", "item.created"]
            assert events[1][1]["data"]["actor"] == str(member.pk)
            assert events[1][1]["data"]["id"] == str(item.pk)
        assert types_of(nobody["id"]) == []
        # One event row per change, one delivery per endpoint.
        assert Event.objects.filter(type="item.created").count() == 1
        assert Delivery.objects.filter(event__type="item.created").count() == 3

    def test_members_joining_and_leaving(self, user: User) -> None:
        member = cast(User, UserFactory())
        workspace = cast(Workspace, WorkspaceFactory(user=user))
        mine, theirs = make_webhook(user, URL), make_webhook(member, URL)
        MemberFactory(workspace=workspace, user=member, role="viewer")
        joined = [e for e in sent_events(mine["id"]) if e[0] == "workspace.member_joined"]
        assert len(joined) == 1
        assert joined[0][1]["data"]["user"] == str(member.pk)
        assert "workspace.member_joined" in types_of(theirs["id"])
        member_leave(user=member, workspace_id=workspace.pk)
        for hook in (mine, theirs):  # the one who left is told too
            left = [body for t, body in sent_events(hook["id"]) if t == "workspace.member_left"]
            assert len(left) == 1
            assert left[0]["data"]["user"] == str(member.pk)
            assert left[0]["data"]["workspace"] == str(workspace.pk)
            assert left[0]["data"]["actor"] == str(member.pk)
        ItemFactory(list=a_list(user, workspace=workspace.pk), user=user)
        assert "item.created" not in types_of(theirs["id"])  # gone with the membership

    def test_a_deleted_workspace_is_every_members_leaving(self, user: User) -> None:
        from workspaces.services import workspace_delete

        member = cast(User, UserFactory())
        workspace = cast(Workspace, WorkspaceFactory(user=user))
        MemberFactory(workspace=workspace, user=member, role="editor")
        ItemFactory(list=a_list(user, workspace=workspace.pk), user=user)
        mine, theirs = make_webhook(user, URL), make_webhook(member, URL)
        workspace_delete(user=user, workspace_id=workspace.pk, base=ANY_VERSION)
        for hook in (mine, theirs):
            events = sent_events(hook["id"])
            assert {t for t, _ in events} == {"workspace.member_left"}
            assert sorted(body["data"]["user"] for _, body in events) == sorted(
                [str(user.pk), str(member.pk)]
            )
            assert {body["data"]["workspace"] for _, body in events} == {str(workspace.pk)}
            assert {body["data"]["actor"] for _, body in events} == {str(user.pk)}
        ItemFactory(list=a_list(user), user=user)  # and nothing of it after
        assert types_of(theirs["id"]) == ["workspace.member_left"] * 2

    def test_an_item_moved_out_of_sight_is_deleted_for_those_who_cannot_follow(self, user: User) -> None:
        member = cast(User, UserFactory())
        workspace = cast(Workspace, WorkspaceFactory(user=user))
        MemberFactory(workspace=workspace, user=member, role="editor")
        shared = a_list(user, workspace=workspace.pk)
        personal = a_list(user)
        item = cast(Item, ItemFactory(list=shared, user=user))
        mine, theirs = make_webhook(user, URL), make_webhook(member, URL)
        item_update(user=user, item_id=item.pk, base=ANY_VERSION, data={"list": personal.pk})
        assert types_of(theirs["id"]) == ["item.deleted"]
        assert types_of(mine["id"]) == ["item.updated"]


class TestCost:
    def _write(self, user: User, listed: List) -> int:
        with CaptureQueriesContext(connection) as queries:
            item_create(user=user, data={"list": listed.pk, "title": "counted"})
        return len(queries)

    def test_without_endpoints_a_write_costs_one_query_more(self, user: User, settings: Any) -> None:
        from sync import registry
        from webhooks import outbox

        listed = a_list(user)
        with_hook = self._write(user, listed)
        registry._changes_hooks.remove(outbox.collect)
        try:
            without_hook = self._write(user, listed)
        finally:
            registry.on_changes(outbox.collect)
        # The one query: the active endpoints of those who see the space (none here).
        assert with_hook == without_hook + 1

    def test_with_endpoints_a_fixed_number_more(self, user: User) -> None:
        listed = a_list(user)
        without = self._write(user, listed)
        for _ in range(3):
            make_webhook(user, URL)
        # The endpoints' query was made without them too; now the event and its three deliveries, one
        # insert each (the item as the API answers it reads nothing more).
        assert self._write(user, listed) == without + 2
        assert Delivery.objects.filter(event__type="item.created").count() == 3

    def test_types_without_events_cost_nothing(self, user: User) -> None:
        from datetime import date

        from focus.services import focus_card_put  # a focus card makes no webhook event

        make_webhook(user, URL)
        with CaptureQueriesContext(connection) as queries:
            focus_card_put(user=user, day=date(2026, 3, 1), base=None, data={"intention": "x", "items": []})
        assert not any("webhooks_endpoint" in q["sql"] for q in queries)
