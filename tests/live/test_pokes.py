"""Pokes and revocations as the write path sends them, read from this process's hub index without Redis
(the embedded default's path, any database): one poke per reader per committed transaction, none for a
rollback, membership re-reads for member changes, and `credentials_revoked` after commit from every
accounts service that revokes a user's credentials. The Redis path, across processes: test_stream.py."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction

from accounts.models import User
from accounts.services.account_deletion import account_delete
from accounts.services.passwords import password_change, password_set
from accounts.services.sessions import session_revoke_everywhere
from accounts.services.users import user_deactivate
from accounts.signals import credentials_revoked
from lists.services import item_create, list_create
from live.hub import hub
from reminders.models import Notification
from sync.push import run_operations
from tests.factories import DEFAULT_PASSWORD, ListFactory, MemberFactory, UserFactory, WorkspaceFactory
from workspaces.services import member_remove

# Committed for real (each test's writes are transactions of their own): the pokes are what commits do.
COMMITTED = pytest.mark.django_db(transaction=True)


class Inbox:
    """Registered in the hub's index as a socket is; keeps the types of the messages handed to it."""

    def __init__(self) -> None:
        self.types: list[str] = []

    def hub_put(self, message: dict[str, Any]) -> None:
        self.types.append(message["type"])

    def __call__(self) -> list[str]:
        """What reached it since the last call."""
        found, self.types = self.types, []
        return found


@pytest.fixture(autouse=True)
def _memory_hub(settings: Any) -> Iterator[None]:
    settings.REDIS_URL = ""
    yield
    hub.users.clear()
    hub.spaces.clear()


def listen(*, user: Any = None, space: int | None = None) -> Inbox:
    inbox = Inbox()
    if user is not None:
        hub.add_user(user, inbox)
    if space is not None:
        hub.add_space(space, inbox)
    return inbox


@COMMITTED
def test_a_push_of_many_operations_is_one_poke_per_reader() -> None:
    owner, member, outsider = UserFactory.create(), UserFactory.create(), UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    MemberFactory.create(workspace=workspace, user=member)
    shared = ListFactory.create(user=owner, workspace=workspace.pk)
    inboxes = {user: listen(user=user.pk) for user in (owner, member, outsider)}
    operations = [
        {"op_id": str(uuid.uuid4()), "type": "item", "action": "create", "id": str(uuid.uuid4()),
         "data": {"list": str(shared.pk), "title": f"Item {n}"}}
        for n in range(30)
    ]  # fmt: skip
    run_operations(owner, operations, {})
    assert inboxes[owner]() == ["live.poke"]
    assert inboxes[member]() == ["live.poke"]
    assert inboxes[outsider]() == []


@COMMITTED
def test_a_rolled_back_write_pokes_no_one() -> None:
    user = UserFactory.create()
    personal = ListFactory.create(user=user)
    inbox = listen(user=user.pk)

    def write_then_fail() -> None:
        with transaction.atomic():
            item_create(user=user, data={"list": personal.pk, "title": "Undone"})
            raise RuntimeError

    with pytest.raises(RuntimeError):
        write_then_fail()
    assert inbox() == []
    # The next transaction of the same connection pokes as usual.
    item_create(user=user, data={"list": personal.pk, "title": "Kept"})
    assert inbox() == ["live.poke"]


@COMMITTED
def test_a_removed_members_sockets_are_told_to_read_their_workspaces_again() -> None:
    owner, member = UserFactory.create(), UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    MemberFactory.create(workspace=workspace, user=member)
    room = listen(space=workspace.space_id)
    removed = listen(user=member.pk)
    member_remove(user=owner, workspace_id=workspace.pk, member_user_id=member.pk)
    assert room() == ["live.membership"]
    # The re-read tells the socket; the poke they get is for their own data (the notification of the
    # removal, in their personal space), and the workspace's writes poke them no more.
    assert Notification.objects.filter(user=member, kind="workspace_removed").exists()
    removed()
    shared, _ = list_create(user=owner, data={"name": "Shared", "workspace": workspace.pk})
    item_create(user=owner, data={"list": shared.pk, "title": "after the removal"})
    assert "live.poke" not in removed()


@COMMITTED
def test_a_joining_members_sockets_are_told_to_read_their_workspaces_again() -> None:
    owner, newcomer = UserFactory.create(), UserFactory.create()
    workspace = WorkspaceFactory.create(user=owner)
    inbox = listen(user=newcomer.pk)
    MemberFactory.create(workspace=workspace, user=newcomer)
    assert "live.membership" in inbox()


@pytest.fixture
def revoked() -> Iterator[list[Any]]:
    found: list[Any] = []

    def receiver(sender: Any, *, user_id: Any, **kwargs: Any) -> None:
        found.append(str(user_id))

    credentials_revoked.connect(receiver, dispatch_uid="tests.live.revoked")
    yield found
    credentials_revoked.disconnect(dispatch_uid="tests.live.revoked")


REVOKING: dict[str, Callable[[User, User], Any]] = {
    "logout everywhere": lambda user, staff: session_revoke_everywhere(user=user),
    "staff logout everywhere": lambda user, staff: session_revoke_everywhere(user=user, by_staff=staff),
    "password change": lambda user, staff: password_change(user=user, new_password="a brand new passphrase"),
    "password set by staff": lambda user, staff: password_set(
        user=user, password="x" * 20, by=staff, via="admin"
    ),
    "deactivation": lambda user, staff: user_deactivate(user=user, by_staff=staff),
    "account deletion": lambda user, staff: account_delete(user=user, password=DEFAULT_PASSWORD),
}


@pytest.mark.django_db
@pytest.mark.parametrize("action", list(REVOKING))
def test_credentials_revoked_is_sent_after_commit(
    action: str, revoked: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    user, staff = UserFactory.create(), UserFactory.create(is_staff=True)
    user_id = str(user.pk)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        REVOKING[action](user, staff)
    assert revoked == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert user_id in revoked


@pytest.mark.django_db
def test_a_revocation_that_rolls_back_sends_nothing(
    revoked: list[Any], django_capture_on_commit_callbacks: Any
) -> None:
    user = UserFactory.create()
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                session_revoke_everywhere(user=user)
                raise RuntimeError
        except RuntimeError:
            pass
    assert revoked == []
