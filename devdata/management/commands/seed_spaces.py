"""Workspaces for the benchmark's spaces scenarios (`make bench`, docs/performance.md), written through the
services as the API would write them (a few thousand writes, about half a minute).

- `spaces@`: an editor in 20 workspaces (each owned by `owner@`, with a list of 25 items) and a personal
  list of 25 items;
- `solo@`: the same amount of data, all personal (21 lists of 25 items);
- `team@` workspace: `owner@` and 7 members (`member1@` to `member7@`), a list of 100 items;
- `mover@`: a personal list of 1,000 items and a workspace of their own to move it into.

Every account's password is `seed_load`'s. A database that already holds these users is left alone.
"""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from accounts.models import User
from accounts.services.users import user_register
from devdata.management.commands.seed_load import DEFAULT_PASSWORD, DOMAIN
from lists.services import item_create, list_create
from workspaces.models import Member, Workspace
from workspaces.services import invitation_accept, invitation_create, workspace_create

SPACES_EMAIL = f"spaces@{DOMAIN}"
SOLO_EMAIL = f"solo@{DOMAIN}"
OWNER_EMAIL = f"owner@{DOMAIN}"
MOVER_EMAIL = f"mover@{DOMAIN}"
TEAM_MEMBERS = 7
WORKSPACES = 20
ITEMS_PER_LIST = 25
TEAM_ITEMS = 100
MOVED_ITEMS = 1_000


def member_email(n: int) -> str:
    return f"member{n}@{DOMAIN}"


def _user(email: str) -> User:
    return user_register(email=email, password=DEFAULT_PASSWORD, display_name=email.split("@")[0])


def _list_with_items(user: User, name: str, items: int, workspace: Workspace | None = None) -> Any:
    data: dict[str, Any] = {"name": name}
    if workspace is not None:
        data["workspace"] = workspace.pk
    lst, _ = list_create(user=user, data=data)
    for n in range(items):
        item_create(user=user, data={"list": lst.pk, "title": f"{name} item {n}"})
    return lst


def _join(owner: User, workspace: Workspace, user: User, role: str = "editor") -> None:
    invitation = invitation_create(user=owner, workspace_id=workspace.pk, email=user.email, role=role)
    invitation_accept(user=user, invitation_id=invitation.pk)


class Command(BaseCommand):
    help = "Seeds the workspaces of the benchmark's spaces scenarios (through the services)."

    def handle(self, *args: Any, **options: Any) -> None:
        emails = [SPACES_EMAIL, SOLO_EMAIL, OWNER_EMAIL, MOVER_EMAIL, *map(member_email, range(1, 8))]
        if User.objects.filter(email__in=emails).exists():
            self.stdout.write("the spaces users exist already")
            return
        started = time.monotonic()
        owner, spaces, solo, mover = (_user(e) for e in (OWNER_EMAIL, SPACES_EMAIL, SOLO_EMAIL, MOVER_EMAIL))

        for n in range(WORKSPACES):
            workspace, _ = workspace_create(user=owner, data={"name": f"Shared {n}"})
            _list_with_items(owner, f"Shared {n}", ITEMS_PER_LIST, workspace)
            _join(owner, workspace, spaces)
        _list_with_items(spaces, "Mine", ITEMS_PER_LIST)
        for n in range(WORKSPACES + 1):
            _list_with_items(solo, f"Solo {n}", ITEMS_PER_LIST)

        team, _ = workspace_create(user=owner, data={"name": "Team"})
        _list_with_items(owner, "Team", TEAM_ITEMS, team)
        for n in range(1, TEAM_MEMBERS + 1):
            _join(owner, team, _user(member_email(n)))

        workspace_create(user=mover, data={"name": "Moves"})
        _list_with_items(mover, "Moving", MOVED_ITEMS)
        self.stdout.write(
            f"seeded {Member.objects.filter(user=spaces).count()} memberships of spaces@, a team of "
            f"{Member.objects.filter(workspace=team).count()} and a list of {MOVED_ITEMS} items "
            f"in {time.monotonic() - started:.1f} s"
        )
