"""Account deletion by its owner, password confirmed."""

from __future__ import annotations

import logging

from accounts.audit import audit_record, audit_user_action
from accounts.models import AuditEvent, User
from accounts.signals import credentials_revoked_after_commit
from core.problems import validation_error
from lists.services import item_people_spaces, items_forget_person
from sync.services import change_writer, held_spaces, lock_spaces, write_held_records
from sync.spaces import personal_space_id
from workspaces.services import spaces_released_with, workspaces_release_user

logger = logging.getLogger("daymark.accounts")

Event = AuditEvent.Event


def account_delete(*, user: User, password: str) -> None:
    """Deletes the user and everything it owns (every owned row cascades from the user, refresh tokens
    included), after checking the password: a stolen access token alone cannot erase an account.

    Wrong or empty password: 400 `validation_error` on `password` (not 401: the caller is authenticated,
    the field is wrong), and nothing changes.
    """
    if not password or not user.check_password(password):
        raise validation_error({"password": ["Wrong password."]})
    _delete(user=user, by_staff=None)


def account_delete_by_staff(*, user: User, by_staff: User) -> None:
    """Staff delete an account from the back office (a deletion request by another channel): the same
    deletion, without the password, audited with the staff member who did it."""
    _delete(user=user, by_staff=by_staff)


def _delete(*, user: User, by_staff: User | None) -> None:
    user_id = str(user.pk)
    with held_spaces():
        # Waits for the user's writes in flight, so none commits into a half-deleted account.
        # With it, every space that handing its workspaces over writes (in one go: in space-id order).
        lock_spaces(personal_space_id(user), *spaces_released_with(user), *item_people_spaces(user.pk))
        # Its workspaces are handed over (or deleted when it was alone) and its memberships end, so what it
        # created there stays with the workspace.
        workspaces_release_user(user=user)
        # The items elsewhere that name it as their creator or completer name no one, as changes.
        with change_writer(user, personal=False) as writer:
            items_forget_person(writer, user.pk)
        # Their change records name this user as actor: in the database before the delete nulls it.
        write_held_records()
        # Recorded before the delete, with the email: the event outlives the account (user becomes null).
        if by_staff is None:
            audit_record(event=Event.ACCOUNT_DELETED, user=user, target_type="user", target_id=user_id)
        else:
            audit_user_action(event=Event.ACCOUNT_DELETED, by=by_staff, target=user, by_staff=True)
        user.delete()
        credentials_revoked_after_commit(user_id=user_id)
    logger.info("account deleted", extra={"deleted_user_id": user_id})
