"""Writes of workspaces, members and invitations (docs/architecture.md, convention 3).

Every write opens `change_writer`, locks the workspace's space (and any other space it writes, in one
call, so the order is fixed), then checks the caller's role through `sync.spaces.require_role`: a removal
or a role change committed by someone else just before is seen. Member and invitation actions take no
version (docs/api/workspaces.md): each is atomic, and the later of two wins.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from datetime import timedelta
from typing import Any
from uuid import UUID

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.http import Http404
from django.utils import timezone
from rest_framework.exceptions import PermissionDenied

from core.models import User
from core.problems import IdConflict, RateLimited
from core.versioning import BaseVersion
from sync import registry as sync_registry
from sync.models import Space
from sync.services import ChangeWriter, change_writer, changed_values, check_delete_base, versioned_update
from sync.spaces import (
    at_least,
    create_workspace_space,
    personal_space_id,
    require_role,
    retire_space,
    role_in,
    role_rank,
)
from workspaces import registry
from workspaces.models import Invitation, Member, Role, Workspace
from workspaces.problems import AlreadyMember, InvitationInvalid, LastOwner

logger = logging.getLogger("daymark.workspaces")

# Audit event names (accounts.models.AuditEvent.Event has the same values).
MEMBER_JOINED = "workspace_member_joined"
MEMBER_LEFT = "workspace_member_left"
MEMBER_REMOVED = "workspace_member_removed"
ROLE_CHANGED = "workspace_role_changed"
OWNERSHIP_TRANSFERRED = "workspace_ownership_transferred"
INVITATION_CREATED = "workspace_invitation_created"
INVITATION_REVOKED = "workspace_invitation_revoked"
WORKSPACE_DELETED = "workspace_deleted"


def _space_id_of(workspace_id: UUID) -> int:
    """The workspace's space; a workspace that does not exist is a 404 (one that exists but is not the
    caller's is a 404 too, from require_role)."""
    space_id = Workspace.objects.filter(pk=workspace_id).values_list("space_id", flat=True).first()
    if space_id is None:
        raise Http404
    return space_id


def _lock_seen(writer: ChangeWriter, user: User, space_id: int, *others: int | None) -> None:
    """Locks the workspace's space with the other spaces the write changes, in one go (in id order), when
    the caller sees the workspace. One they do not see is a 404 before any lock: its lock is not theirs to
    take, and taken after their own space it could come after a higher id."""
    if not writer.held.sees(user, space_id):
        raise Http404
    writer.lock(space_id, *(other for other in others if other is not None))


def _personal_space_of(user_id: Any) -> int | None:
    """The personal space of a member about to leave: their cards lose the workspace's items, so it is
    locked with the workspace's space, not after it (it often has the lower id)."""
    return Space.objects.filter(user_id=user_id).values_list("pk", flat=True).first()


def _holders_of_contents(space_id: int) -> set[int]:
    """The spaces of entities elsewhere that refer to the space's entities (members' focus cards holding its
    items): deleting them all changes those, so they are locked with the space."""
    spaces: set[int] = set()
    for sync_type in sync_registry.all_types():
        if sync_type.name in _OWN_TYPES:
            continue
        ids = list(sync_type.model._default_manager.filter(space_id=space_id).values_list("pk", flat=True))
        spaces |= sync_registry.holder_spaces(sync_type.name, ids)
    return spaces


def _locked_workspace(
    writer: ChangeWriter, user: User, workspace_id: UUID, role: str, *others: int | None
) -> tuple[Workspace, str]:
    """The workspace, its space locked (with `others`), and the caller's role there, at least `role`."""
    space_id = _space_id_of(workspace_id)
    _lock_seen(writer, user, space_id, *others)
    caller_role = require_role(user, space_id, role)
    return Workspace.objects.get(pk=workspace_id), caller_role


def _described(workspace: Workspace, role: str | None) -> Workspace:
    """The workspace with the derived values its representation shows (the caller's role, the count)."""
    workspace.role = role  # type: ignore[attr-defined]
    workspace.member_count = Member.objects.filter(workspace=workspace).count()  # type: ignore[attr-defined]
    return workspace


def _forbidden(detail: str) -> PermissionDenied:
    return PermissionDenied(detail)


# --- workspaces ---------------------------------------------------------------------------------------


def workspace_create(
    *, user: User, data: dict[str, Any], workspace_id: UUID | None = None
) -> tuple[Workspace, bool]:
    """A workspace in a space of its own, with the caller as its owner. The same create sent again (same
    id and name, by its creator while still a member) answers the existing one; anything else with that
    id is 409 `id_conflict`."""
    with change_writer(user, personal=False) as writer:
        if workspace_id is not None:
            existing = Workspace.objects.filter(pk=workspace_id).first()
            if existing is not None:
                role = role_in(user, existing.space_id)
                if existing.user_id != user.pk or role is None or changed_values(existing, data):
                    raise IdConflict()
                return _described(existing, role), False
        workspace = Workspace(name=data["name"])
        if workspace_id is not None:
            workspace.pk = workspace_id
        try:
            with transaction.atomic():
                space = create_workspace_space(workspace.pk)
        except IntegrityError:
            # The id's space exists: a concurrent create of the same id, or a workspace deleted since.
            raise IdConflict() from None
        writer.lock(space.pk)
        workspace.space = space
        writer.save(workspace, created=True)
        owner = Member(workspace=workspace, user=user, role=Role.OWNER, space=space)
        writer.save(owner, created=True)
    return _described(workspace, Role.OWNER), True


def workspace_rename(
    *, user: User, workspace_id: UUID, base: BaseVersion, data: dict[str, Any]
) -> tuple[Workspace, bool]:
    """Renaming needs admin; the version rules of docs/api/versions.md apply."""
    with change_writer(user, personal=False) as writer:
        workspace, caller_role = _locked_workspace(writer, user, workspace_id, Role.ADMIN)
        _described(workspace, caller_role)
        merged = versioned_update(writer, workspace, base, changed_values(workspace, data))
    return workspace, merged


def workspace_delete(*, user: User, workspace_id: UUID, base: BaseVersion) -> None:
    """The owner deletes the workspace with its lists, items and members. Members' clients learn it from
    the one workspace tombstone the feed sends them (their cursor holds a space they are no longer a member
    of), so its entities get no tombstones of their own. Pending invitations to it are withdrawn from their
    invitees' spaces. The space row stays (sync.spaces), with the workspace's own tombstone."""
    with change_writer(user, personal=False) as writer:
        space_id = _space_id_of(workspace_id)
        invitations = list(Invitation.objects.filter(workspace_id=workspace_id))
        if not writer.held.sees(user, space_id):
            raise Http404
        if at_least(writer.held.visible(user).get(space_id), Role.OWNER):
            others = {i.space_id for i in invitations} | _holders_of_contents(space_id)
        else:
            others = set()  # refused below: nothing else to lock
        _lock_seen(writer, user, space_id, *others)
        require_role(user, space_id, Role.OWNER)
        workspace = Workspace.objects.get(pk=workspace_id)
        check_delete_base(workspace, base)
        _delete_workspace(writer, workspace)
        registry.audit(event=WORKSPACE_DELETED, by=user, target=None, workspace_id=workspace_id)


def _delete_workspace(writer: ChangeWriter, workspace: Workspace) -> None:
    """Everything in the workspace's space goes, then its invitations, the workspace itself (its
    tombstone) and its members; the space is retired. The caller holds the locks of the space and of the
    invitees' spaces. The workspace's deletion hooks run while its members are still there (they are told
    of the deletion: sync.registry.on_delete("workspace"))."""
    _delete_space_contents(writer, workspace.space_id)
    for invitation in Invitation.objects.filter(workspace=workspace):
        if invitation.space_id is None:
            invitation.delete()
        else:
            writer.delete(invitation)
    writer.delete(workspace)  # its members go with it (the foreign key's cascade)
    retire_space(workspace.space_id)


_OWN_TYPES = frozenset({Workspace.sync_type, Member.sync_type, Invitation.sync_type})


def _delete_space_contents(writer: ChangeWriter, space_id: int) -> None:
    """Deletes every entity of the other apps' types in the space (lists, items, whatever lives there),
    the types registered last (the ones that refer to earlier ones) first. Deletion hooks run as for any
    deletion, so entities elsewhere that point at these (a focus card's entries) are changed and synced."""
    for sync_type in reversed(sync_registry.all_types()):
        if sync_type.name in _OWN_TYPES:
            continue
        model = sync_type.model
        ids = list(model._default_manager.filter(space_id=space_id).values_list("pk", flat=True))
        if not ids:
            continue
        for hook in sync_registry.deletion_hooks(sync_type.name):
            hook(writer, ids)
        model._default_manager.filter(pk__in=ids).delete()


# --- members ------------------------------------------------------------------------------------------


def _member_or_404(workspace: Workspace, member_user_id: UUID) -> Member:
    member = Member.objects.select_related("user").filter(workspace=workspace, user_id=member_user_id).first()
    if member is None:
        raise Http404
    return member


def member_change_role(*, user: User, workspace_id: UUID, member_user_id: UUID, role: str | None) -> Member:
    """Admins move editors and viewers between viewer, editor and admin; the owner changes anyone's role,
    and `owner` hands ownership over (the old owner becomes admin). The owner cannot step down otherwise
    (409 `last_owner`)."""
    with change_writer(user, personal=False) as writer:
        workspace, caller_role = _locked_workspace(writer, user, workspace_id, Role.ADMIN)
        member = _member_or_404(workspace, member_user_id)
        if role is None or member.role == role:
            return member
        if caller_role != Role.OWNER:
            if role_rank(member.role) >= role_rank(Role.ADMIN) or role_rank(role) > role_rank(Role.ADMIN):
                raise _forbidden("Admins change the roles of editors and viewers, up to admin.")
        elif member.user_id == user.pk:
            raise LastOwner()
        if role == Role.OWNER:
            previous = Member.objects.get(workspace=workspace, role=Role.OWNER)
            previous.role = Role.ADMIN
            writer.save(previous, ["role"])  # first: a workspace has one owner at every moment
            member.role = Role.OWNER
            writer.save(member, ["role"])
            registry.audit(
                event=OWNERSHIP_TRANSFERRED, by=user, target=member.user, workspace_id=workspace_id
            )
            return member
        old_role, member.role = member.role, role
        writer.save(member, ["role"])
        registry.audit(
            event=ROLE_CHANGED, by=user, target=member.user, workspace_id=workspace_id, old=old_role, new=role
        )
    return member


def member_remove(*, user: User, workspace_id: UUID, member_user_id: UUID) -> None:
    """Admins remove editors and viewers, the owner anyone but themself; a member removing themself
    leaves. Access ends with the commit: the next request is a 404, the next pull a workspace tombstone."""
    if member_user_id == user.pk:
        member_leave(user=user, workspace_id=workspace_id)
        return
    with change_writer(user, personal=False) as writer:
        workspace, caller_role = _locked_workspace(
            writer, user, workspace_id, Role.ADMIN, _personal_space_of(member_user_id)
        )
        member = _member_or_404(workspace, member_user_id)
        if member.role == Role.OWNER:
            raise LastOwner()
        if caller_role != Role.OWNER and role_rank(member.role) >= role_rank(Role.ADMIN):
            raise _forbidden("Admins remove editors and viewers; only the owner removes an admin.")
        _remove(writer, workspace, member)
        registry.audit(
            event=MEMBER_REMOVED, by=user, target=member.user, workspace_id=workspace_id, role=member.role
        )


def member_remove_by_staff(*, by_staff: User, workspace_id: UUID, member_user_id: UUID) -> None:
    """Staff remove a member from the admin (abuse, a support request): any member but the owner, who
    stays until they hand ownership over. The audit event names the staff member."""
    with change_writer(by_staff, personal=False) as writer:
        space_id = _space_id_of(workspace_id)
        writer.lock(space_id, *[s for s in [_personal_space_of(member_user_id)] if s is not None])
        workspace = Workspace.objects.get(pk=workspace_id)
        member = _member_or_404(workspace, member_user_id)
        if member.role == Role.OWNER:
            raise LastOwner()
        _remove(writer, workspace, member)
        registry.audit(
            event=MEMBER_REMOVED,
            by=by_staff,
            target=member.user,
            workspace_id=workspace_id,
            role=member.role,
            by_staff=True,
        )


def member_leave(*, user: User, workspace_id: UUID) -> None:
    """Any member but the owner may leave (the owner hands ownership over first: 409 `last_owner`)."""
    with change_writer(user, personal=False) as writer:
        workspace, _role = _locked_workspace(writer, user, workspace_id, Role.VIEWER, personal_space_id(user))
        member = _member_or_404(workspace, user.pk)
        if member.role == Role.OWNER:
            raise LastOwner()
        _remove(writer, workspace, member)
        registry.audit(event=MEMBER_LEFT, by=user, target=user, workspace_id=workspace_id, role=member.role)


def _remove(writer: ChangeWriter, workspace: Workspace, member: Member) -> None:
    unassign_member_items(writer, space_id=workspace.space_id, user_id=member.user_id)
    writer.delete(member)


def unassign_member_items(writer: ChangeWriter, *, space_id: int, user_id: UUID) -> None:
    """The departing member's items in the workspace become unassigned: the hooks the lists app
    registers (`workspaces.registry.on_member_removed`) write that through `writer`."""
    for hook in registry.member_removal_hooks():
        hook(writer, space_id, user_id)


# --- invitations --------------------------------------------------------------------------------------


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _check_invitation_rate(user: User) -> None:
    """At most WORKSPACE_INVITATIONS_PER_DAY invitations by one inviter in any 24 hours."""
    limit = settings.WORKSPACE_INVITATIONS_PER_DAY
    since = timezone.now() - timedelta(days=1)
    recent = list(
        Invitation.objects.filter(invited_by=user, created_at__gt=since)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[:limit]
    )
    if len(recent) >= limit:
        wait = (recent[-1] + timedelta(days=1) - timezone.now()).total_seconds()
        raise RateLimited(
            f"At most {limit} invitations a day; retry after the seconds in Retry-After.", wait=int(wait) + 1
        )


def invitation_create(*, user: User, workspace_id: UUID, email: str, role: str) -> Invitation:
    """An admin invites an email with a role up to their own (never owner). A pending invitation to the
    same address is replaced (its token stops working). The answer, and the work done, are the same
    whether or not the address has an account, so it tells nothing about who uses Daymark."""
    email = email.strip().lower()
    invitee = get_user_model().objects.filter(email=email).first()
    invitee_space = personal_space_id(invitee) if invitee is not None else None
    with change_writer(user, personal=False) as writer:
        space_id = _space_id_of(workspace_id)
        _lock_seen(writer, user, space_id, invitee_space)
        inviter_role = require_role(user, space_id, Role.ADMIN)
        if role == Role.OWNER or role_rank(role) > role_rank(inviter_role):
            raise _forbidden("The invited role is at most your own, and never owner.")
        workspace = Workspace.objects.get(pk=workspace_id)
        if Member.objects.filter(workspace=workspace, user__email=email).exists():
            raise AlreadyMember()
        _check_invitation_rate(user)
        for previous in Invitation.objects.filter(
            workspace=workspace, email=email, status=Invitation.Status.PENDING
        ):
            _set_status(writer, previous, Invitation.Status.REPLACED)
        token = secrets.token_urlsafe(32)
        invitation = Invitation(
            workspace=workspace,
            workspace_name=workspace.name,
            email=email,
            role=role,
            token_hash=token_hash(token),
            expires_at=timezone.now() + timedelta(days=settings.WORKSPACE_INVITATION_TTL_DAYS),
            invited_by=user,
            invited_by_name=user.display_name or user.email,
            user=invitee,
            space_id=invitee_space,
        )
        _insert_invitation(writer, invitation)
        registry.audit(
            event=INVITATION_CREATED,
            by=user,
            target=invitee,
            workspace_id=workspace_id,
            invitation_id=str(invitation.pk),
            role=role,
            invited_email=email,
        )
    # After the write committed (or, inside a caller's transaction, once it is done), so no lock is held
    # while the mail server answers.
    _send_invitation(invitation, token, inviter=user)
    return invitation


def _insert_invitation(writer: ChangeWriter, invitation: Invitation) -> None:
    """Created in the invitee's personal space. One to an email with no account is in no space, where no
    one reads it, so it has nothing to record until `invitations_attach` (the writer would put it in the
    inviter's space)."""
    if invitation.space_id is not None:
        writer.save(invitation, created=True)
    else:
        invitation.save(force_insert=True)


def _set_status(writer: ChangeWriter, invitation: Invitation, status: str) -> None:
    invitation.status = status
    if invitation.space_id is not None:
        writer.save(invitation, ["status"])
    else:
        invitation.version += 1
        invitation.save(update_fields=["status", "version", "updated_at"])


def _send_invitation(invitation: Invitation, token: str, *, inviter: User) -> None:
    link = settings.INVITATION_ACCEPT_URL.format(token=token)
    who = inviter.display_name or inviter.email
    body = (
        f"{who} invites you to the Daymark workspace “{invitation.workspace_name}” as {invitation.role}.\n\n"
        f"Accept here: {link}\n\n"
        f"The invitation works once and expires in {settings.WORKSPACE_INVITATION_TTL_DAYS} days. "
        "If you do not know this person, ignore this email."
    )
    try:
        send_mail(
            f"{who} invites you to {invitation.workspace_name} on Daymark", body, None, [invitation.email]
        )
    except Exception as error:  # the invitation stands; the inviter can send it again
        # The error's kind only: its message may quote the body, and so the token.
        logger.error("Could not send the invitation email: %s", type(error).__name__)


def invitation_revoke(*, user: User, workspace_id: UUID, invitation_id: UUID) -> None:
    """An admin withdraws a pending invitation: its token and id stop working."""
    with change_writer(user, personal=False) as writer:
        space_id = _space_id_of(workspace_id)
        invitee_space = (
            Invitation.objects.filter(pk=invitation_id, workspace_id=workspace_id)
            .values_list("space_id", flat=True)
            .first()
        )
        _lock_seen(writer, user, space_id, invitee_space)
        require_role(user, space_id, Role.ADMIN)
        invitation = Invitation.objects.filter(
            pk=invitation_id, workspace_id=workspace_id, status=Invitation.Status.PENDING
        ).first()
        if invitation is None:
            raise Http404
        _set_status(writer, invitation, Invitation.Status.REVOKED)
        registry.audit(
            event=INVITATION_REVOKED,
            by=user,
            target=invitation.user,
            workspace_id=workspace_id,
            invitation_id=str(invitation.pk),
        )


def _usable_invitation(user: User, *, invitation_id: UUID | None, token: str | None) -> Invitation:
    """A pending, unexpired invitation to the user's email, found by id or token; anything else is the one
    `invitation_invalid` answer."""
    if invitation_id is not None:
        invitation = Invitation.objects.filter(pk=invitation_id).first()
    elif token:
        invitation = Invitation.objects.filter(token_hash=token_hash(token)).first()
    else:
        invitation = None
    if (
        invitation is None
        or invitation.email != user.email.lower()
        or invitation.status != Invitation.Status.PENDING
        or invitation.expires_at <= timezone.now()
    ):
        raise InvitationInvalid()
    return invitation


def invitation_accept(
    *, user: User, invitation_id: UUID | None = None, token: str | None = None
) -> Workspace:
    """The invitee joins with the invited role. The invitation works once."""
    found = _usable_invitation(user, invitation_id=invitation_id, token=token)
    own_space = personal_space_id(user)
    with change_writer(user, personal=False) as writer:
        workspace = Workspace.objects.filter(pk=found.workspace_id).first()
        if workspace is None:
            raise InvitationInvalid()
        writer.lock(workspace.space_id, own_space)
        # Again under the locks: a concurrent accept, revoke or replacement has committed or waits.
        invitation = _usable_invitation(user, invitation_id=found.pk, token=None)
        _attach(invitation, user, own_space)
        _set_status(writer, invitation, Invitation.Status.ACCEPTED)
        member = Member.objects.filter(workspace=workspace, user=user).first()
        if member is None:
            member = Member(workspace=workspace, user=user, role=invitation.role, space_id=workspace.space_id)
            writer.save(member, created=True)
            registry.audit(
                event=MEMBER_JOINED,
                by=user,
                target=user,
                workspace_id=workspace.pk,
                invitation_id=str(invitation.pk),
                role=member.role,
            )
        role = member.role
    return _described(workspace, role)


def invitation_decline(*, user: User, invitation_id: UUID) -> Invitation:
    found = _usable_invitation(user, invitation_id=invitation_id, token=None)
    with change_writer(user) as writer:  # the invitation lives in the user's personal space
        invitation = _usable_invitation(user, invitation_id=found.pk, token=None)
        _attach(invitation, user, writer.personal_space_id)
        _set_status(writer, invitation, Invitation.Status.DECLINED)
    return invitation


def _attach(invitation: Invitation, user: User, space_id: int) -> None:
    """An invitation made before the account existed, not yet attached: it becomes the account's."""
    if invitation.space_id is None:
        invitation.user, invitation.space_id = user, space_id


def invitations_attach(*, user: User) -> int:
    """Invitations to the new account's email, made before it existed, become its own and reach its
    clients by sync. Registration calls it. Returns how many."""
    waiting = list(Invitation.objects.filter(email=user.email.lower(), space__isnull=True))
    if not waiting:
        return 0
    with change_writer(user) as writer:  # they join the user's personal space
        own_space = writer.personal_space_id
        for invitation in waiting:
            invitation.user, invitation.space_id = user, own_space
            writer.save(invitation)
    return len(waiting)


# --- accounts ---------------------------------------------------------------------------------------------


def spaces_released_with(user: User) -> set[int]:
    """The spaces `workspaces_release_user` writes besides the user's personal one: each workspace's, its
    invitees' (a workspace deleted withdraws its invitations) and, for a workspace the user is alone in,
    the spaces of what refers to its contents. Account deletion locks them with the personal space in one
    go (in id order): taken one workspace at a time after the personal space, a workspace's lower id would
    come after a higher one."""
    spaces: set[int] = set()
    for member in Member.objects.filter(user=user).select_related("workspace"):
        space_id = member.workspace.space_id
        spaces.add(space_id)
        spaces.update(
            Invitation.objects.filter(workspace_id=member.workspace_id, space__isnull=False).values_list(
                "space_id", flat=True
            )
        )
        if not Member.objects.filter(workspace_id=member.workspace_id).exclude(pk=member.pk).exists():
            spaces |= _holders_of_contents(space_id)
    # The invitations it sent, in their invitees' spaces, lose their inviter.
    spaces.update(
        Invitation.objects.filter(invited_by=user, space__isnull=False).values_list("space_id", flat=True)
    )
    return spaces


def workspaces_release_user(*, user: User) -> None:
    """Before an account is deleted, its memberships end the way leaving would: a workspace it owns goes to
    the member with the highest role (the longest-standing among equals), or is deleted when no one else
    is in it; the entities it created in each workspace become the owner's (they belong to the workspace,
    not to the account); its assigned items there become unassigned. Account deletion calls it."""
    for member in Member.objects.filter(user=user).select_related("workspace"):
        workspace = member.workspace
        invitee_spaces = Invitation.objects.filter(workspace=workspace, space__isnull=False).values_list(
            "space_id", flat=True
        )
        with change_writer(user, personal=False) as writer:
            writer.lock(workspace.space_id, *set(invitee_spaces))
            others = list(
                Member.objects.filter(workspace=workspace).exclude(pk=member.pk).select_related("user")
            )
            if member.role == Role.OWNER and not others:
                _delete_workspace(writer, workspace)
                registry.audit(event=WORKSPACE_DELETED, by=user, target=None, workspace_id=workspace.pk)
                continue
            if member.role == Role.OWNER:
                successor = min(others, key=lambda m: (-role_rank(m.role), m.joined_at))
                member.role = Role.ADMIN
                writer.save(member, ["role"])
                successor.role = Role.OWNER
                writer.save(successor, ["role"])
                registry.audit(
                    event=OWNERSHIP_TRANSFERRED, by=user, target=successor.user, workspace_id=workspace.pk
                )
                owner = successor.user
            else:
                owner = next(m.user for m in others if m.role == Role.OWNER)
            _hand_over_created(workspace.space_id, user, owner)
            _remove(writer, workspace, member)
            registry.audit(
                event=MEMBER_LEFT, by=user, target=user, workspace_id=workspace.pk, role=member.role
            )
    _hand_over_left_behind(user)
    _forget_inviter(user)


def _forget_inviter(user: User) -> None:
    """The invitations the account sent name no inviter (`invited_by`, a synced field the foreign key
    would null silently): each as a new version its invitee pulls, so their replica converges."""
    sent = list(Invitation.objects.filter(invited_by=user))
    if not sent:
        return
    with change_writer(user, personal=False) as writer:
        for invitation in sent:
            invitation.invited_by = None
            if invitation.space_id is None:  # to an email with no account yet: no one syncs it
                invitation.save(update_fields=["invited_by"])
            else:
                writer.save(invitation, ["invited_by"])


def _hand_over_left_behind(user: User) -> None:
    """What the account created in workspaces it had already left (a list, its items, the workspace itself
    when it handed ownership over and left) becomes each workspace's owner's, as for a current membership:
    `user` cascades with the account, so these rows would go with it, from every member's workspace and
    without a change any client could pull."""
    types = [t for t in sync_registry.all_types() if t.name not in (Member.sync_type, Invitation.sync_type)]
    spaces: set[int] = set()
    for sync_type in types:
        spaces.update(
            sync_type.model._default_manager.filter(user=user)
            .exclude(space__workspace_id=None)
            .values_list("space_id", flat=True)
            .distinct()
        )
    if not spaces:
        return
    owners = dict(
        Member.objects.filter(space_id__in=spaces, role=Role.OWNER).values_list("space_id", "user_id")
    )
    for space_id, owner_id in owners.items():
        for sync_type in types:
            sync_type.model._default_manager.filter(space_id=space_id, user=user).update(user_id=owner_id)


def _hand_over_created(space_id: int, user: User, owner: User) -> None:
    """`user` on a workspace's entities names who created them, which no client sees (not a synced field):
    the account's go to the owner so they outlive it."""
    for sync_type in sync_registry.all_types():
        if sync_type.name in (Member.sync_type, Invitation.sync_type):
            continue
        sync_type.model._default_manager.filter(space_id=space_id, user=user).update(user=owner)
