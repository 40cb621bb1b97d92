"""Factories that write through the services, so every row has its version and change records."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import factory
from django.utils import timezone

from accounts.models import User
from accounts.services.users import user_register
from antitodo.models import AntiTodoEntry
from antitodo.services import anti_todo_create
from focus.models import FocusCard
from focus.services import focus_card_put
from lists.models import Item, List
from lists.services import item_create, list_create
from reminders.models import Reminder
from reminders.services import reminder_create
from workspaces.models import Member, Workspace
from workspaces.services import invitation_accept, invitation_create, workspace_create

DEFAULT_PASSWORD = "a-long-enough-test-password"


class UserFactory(factory.django.DjangoModelFactory[User]):
    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    password = DEFAULT_PASSWORD
    display_name = factory.Faker("first_name")
    timezone = "UTC"

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, **kwargs: Any) -> User:
        extra = {k: kwargs.pop(k) for k in ("is_staff", "is_superuser", "is_active") if k in kwargs}
        user = user_register(**kwargs)
        if extra:
            for key, value in extra.items():
                setattr(user, key, value)
            user.save(update_fields=list(extra))
        return user


class ListFactory(factory.django.DjangoModelFactory[List]):
    class Meta:
        model = List

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"List {n}")
    position = factory.Sequence(int)

    @classmethod
    def _create(cls, model_class: type[List], *args: Any, **kwargs: Any) -> List:
        user = kwargs.pop("user")
        entity, _ = list_create(user=user, data=kwargs)
        return entity


class ItemFactory(factory.django.DjangoModelFactory[Item]):
    class Meta:
        model = Item

    list = factory.SubFactory(ListFactory)
    user = factory.LazyAttribute(lambda o: o.list.user)
    title = factory.Sequence(lambda n: f"Item {n}")
    position = factory.Sequence(int)

    @classmethod
    def _create(cls, model_class: type[Item], *args: Any, **kwargs: Any) -> Item:
        user = kwargs.pop("user")
        kwargs["list"] = kwargs["list"].pk
        entity, _ = item_create(user=user, data=kwargs)
        return entity


class FocusCardFactory(factory.django.DjangoModelFactory[FocusCard]):
    """A manual card through the service; `items` are Item objects or ids."""

    class Meta:
        model = FocusCard

    user = factory.SubFactory(UserFactory)
    date = factory.Sequence(lambda n: date(2026, 1, 1) + timedelta(days=n))
    intention = ""

    @classmethod
    def _create(cls, model_class: type[FocusCard], *args: Any, **kwargs: Any) -> FocusCard:
        items = [getattr(i, "pk", i) for i in kwargs.pop("items", [])]
        card, _ = focus_card_put(
            user=kwargs["user"],
            day=kwargs["date"],
            base=None,
            data={"intention": kwargs["intention"], "items": items},
        )
        return card


class AntiTodoEntryFactory(factory.django.DjangoModelFactory[AntiTodoEntry]):
    class Meta:
        model = AntiTodoEntry

    user = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Did thing {n}")

    @classmethod
    def _create(cls, model_class: type[AntiTodoEntry], *args: Any, **kwargs: Any) -> AntiTodoEntry:
        user = kwargs.pop("user")
        if isinstance(kwargs.get("item"), Item):
            kwargs["item"] = kwargs["item"].pk
        entry, _ = anti_todo_create(user=user, data=kwargs)
        return entry


class WorkspaceFactory(factory.django.DjangoModelFactory[Workspace]):
    """A workspace through the service: `user` is its creator and owner."""

    class Meta:
        model = Workspace

    user = factory.SubFactory(UserFactory)
    name = factory.Sequence(lambda n: f"Workspace {n}")

    @classmethod
    def _create(cls, model_class: type[Workspace], *args: Any, **kwargs: Any) -> Workspace:
        workspace, _ = workspace_create(user=kwargs["user"], data={"name": kwargs["name"]})
        return workspace


class MemberFactory(factory.django.DjangoModelFactory[Member]):
    """A member as people become one: the owner invites them with the role, they accept."""

    class Meta:
        model = Member

    workspace = factory.SubFactory(WorkspaceFactory)
    user = factory.SubFactory(UserFactory)
    role = "editor"

    @classmethod
    def _create(cls, model_class: type[Member], *args: Any, **kwargs: Any) -> Member:
        workspace, user = kwargs["workspace"], kwargs["user"]
        owner = Member.objects.select_related("user").get(workspace=workspace, role="owner").user
        invitation = invitation_create(
            user=owner, workspace_id=workspace.pk, email=user.email, role=kwargs["role"]
        )
        invitation_accept(user=user, invitation_id=invitation.pk)
        return Member.objects.get(workspace=workspace, user=user)


class ReminderFactory(factory.django.DjangoModelFactory[Reminder]):
    """A reminder through the service: absolute (`remind_at`) unless `minutes_before` is given."""

    class Meta:
        model = Reminder

    item = factory.SubFactory(ItemFactory)
    user = factory.LazyAttribute(lambda o: o.item.user)
    remind_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=1))
    minutes_before = None

    @classmethod
    def _create(cls, model_class: type[Reminder], *args: Any, **kwargs: Any) -> Reminder:
        data = {"item": kwargs["item"].pk}
        if kwargs.get("minutes_before") is not None:
            data["minutes_before"] = kwargs["minutes_before"]
        else:
            data["remind_at"] = kwargs["remind_at"]
        reminder, _ = reminder_create(user=kwargs["user"], data=data)
        return reminder
