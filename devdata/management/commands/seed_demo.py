"""A demo user with a little of everything. Running it again changes nothing: every seeded entity has a
fixed id and is created only when missing."""

from __future__ import annotations

import secrets
import uuid
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from accounts.services.users import user_register
from devdata.workflow import seed_workflow
from lists.models import Item, List
from lists.services import item_create, list_create
from workspaces.models import Workspace
from workspaces.services import invitation_accept, invitation_create, workspace_create

SEED_NAMESPACE = uuid.UUID("6f1c1b8e-3d0a-4f5e-9a57-1d2c3b4a5e6f")
DEV_PASSWORD = "daymark-demo-password"  # only used with DJANGO_DEBUG on

# A workspace the demo user owns and shares with a second demo account, so sharing can be tried at once.
WORKSPACE = "Household"
PARTNER_EMAIL = "partner@daymark.invalid"
SHARED_LIST = ("Shared groceries", "#3BAA5C", [("Oat milk", 2), ("Coffee beans", 1), ("Basil", 3)])

LISTS = [
    ("Home", "#4A90D9", [("Buy groceries", 2), ("Fix the bike light", 3), ("Call the plumber", 1)]),
    ("Work", "#D94A4A", [("Write the quarterly report", 1), ("Review pull requests", 2), ("Book travel", 4)]),
    ("Reading", None, [("Finish 'The Pragmatic Programmer'", 3)]),
]


def seed_id(*parts: str) -> uuid.UUID:
    return uuid.uuid5(SEED_NAMESPACE, "/".join(parts))


class Command(BaseCommand):
    help = "Create the demo user and its demo data (idempotent)."

    def handle(self, *args: Any, **options: Any) -> None:
        email = User.objects.normalize_email(settings.DEMO_USER_EMAIL)
        with transaction.atomic():
            user = User.objects.filter(email=email).first()
            if user is None:
                password = settings.DEMO_USER_PASSWORD or (
                    DEV_PASSWORD if settings.DEBUG else secrets.token_urlsafe(12)
                )
                user = user_register(email=email, password=password, display_name="Demo", timezone="UTC")
                if settings.DEBUG:
                    # Locally the demo user can also try the back office.
                    user.is_staff = user.is_superuser = True
                    user.save(update_fields=["is_staff", "is_superuser"])
                self.stdout.write(f"Created demo user {email} with password {password}")
            else:
                self.stdout.write(self._sign_in_line(user))
            created = self._seed_lists(user)
            created += seed_workflow(user)
            created += self._seed_workspace(user)
        self.stdout.write(f"Seeded {created} new entities.")

    @staticmethod
    def _sign_in_line(user: User) -> str:
        """How to sign in as the existing demo user, on every run: its password when it is still the
        configured or development one, else how to set a new one."""
        known = settings.DEMO_USER_PASSWORD or (DEV_PASSWORD if settings.DEBUG else "")
        if known and user.check_password(known):
            return f"Demo user {user.email} with password {known}"
        return (
            f"Demo user {user.email} exists; its password was generated or changed. Set a new one with "
            f"`python manage.py changepassword {user.email}`."
        )

    def _seed_workspace(self, user: User) -> int:
        """The demo workspace with the partner account as an editor (through an invitation, as a real one
        joins) and a shared list; only when the workspace does not exist yet."""
        workspace_id = seed_id(str(user.pk), "workspace", WORKSPACE)
        if Workspace.objects.filter(pk=workspace_id).exists():
            return 0
        workspace_create(user=user, data={"name": WORKSPACE}, workspace_id=workspace_id)
        partner = User.objects.filter(email=PARTNER_EMAIL).first()
        if partner is None:
            password = DEV_PASSWORD if settings.DEBUG else secrets.token_urlsafe(12)
            partner = user_register(
                email=PARTNER_EMAIL, password=password, display_name="Sam", timezone="UTC"
            )
            self.stdout.write(f"Created the demo partner {PARTNER_EMAIL} with password {password}")
        invitation = invitation_create(
            user=user, workspace_id=workspace_id, email=PARTNER_EMAIL, role="editor"
        )
        invitation_accept(user=partner, invitation_id=invitation.pk)
        name, color, items = SHARED_LIST
        list_id = seed_id(str(user.pk), "workspace", name)
        data: dict[str, Any] = {"name": name, "color": color, "workspace": workspace_id}
        created = 1 + list_create(user=user, data=data, list_id=list_id)[1]
        for position, (title, priority) in enumerate(items):
            item = {"list": list_id, "title": title, "priority": priority, "position": position}
            created += item_create(user=partner if position % 2 else user, data=item)[1]
        return created

    def _seed_lists(self, user: User) -> int:
        """Creates the seeded lists and items that do not exist yet; edits the user made are kept."""
        created = 0
        for position, (name, color, items) in enumerate(LISTS):
            list_id = seed_id(str(user.pk), name)
            if not List.objects.filter(pk=list_id).exists():
                data: dict[str, Any] = {"name": name, "color": color, "position": position, "archived": False}
                created += list_create(user=user, data=data, list_id=list_id)[1]
            for item_position, (title, priority) in enumerate(items):
                item_id = seed_id(str(user.pk), name, title)
                if List.objects.filter(pk=list_id).exists() and not Item.objects.filter(pk=item_id).exists():
                    item_data: dict[str, Any] = {
                        "list": list_id,
                        "title": title,
                        "priority": priority,
                        "position": item_position,
                    }
                    created += item_create(user=user, data=item_data, item_id=item_id)[1]
        return created
