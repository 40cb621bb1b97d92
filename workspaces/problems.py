"""The problems only workspaces answer (docs/api/errors.md)."""

from __future__ import annotations

from core.problems import ProblemError


class AlreadyMember(ProblemError):
    status_code = 409
    code = "already_member"
    title = "Already a member"
    default_detail = "This email belongs to a member of the workspace."


class LastOwner(ProblemError):
    status_code = 409
    code = "last_owner"
    title = "Last owner"
    default_detail = "A workspace keeps exactly one owner: hand ownership to another member first."


class InvitationInvalid(ProblemError):
    status_code = 400
    code = "invitation_invalid"
    title = "Invitation invalid"
    # One answer for every reason (unknown, expired, used, revoked, replaced, declined, someone else's), so
    # it tells nothing about invitations that are not the caller's.
    default_detail = "This invitation cannot be used."
