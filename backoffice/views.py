"""The back office's admin pages: the dashboard (the admin's index), the health panel, and a user's page
with the staff actions. Every page is wrapped by the admin site (staff only, CSRF, login), and each checks
its own permission (backoffice.models.BackOffice): a staff member without it gets 403. Every action is a
confirmation page (GET) and a POST that calls the service, which writes the audit event naming the staff
member."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import ApiKey, User
from accounts.services.account_deletion import account_delete_by_staff
from accounts.services.api_keys import api_key_revoke
from accounts.services.password_reset import password_reset_request
from accounts.services.users import user_activate, user_deactivate
from backoffice import health, selectors
from portability.services import ExportInProgress, account_export
from workspaces.models import Member
from workspaces.problems import LastOwner
from workspaces.services import member_remove_by_staff

PERM = "backoffice."
View = Callable[..., HttpResponse]


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


def _require(request: HttpRequest, permission: str) -> None:
    if not request.user.has_perm(permission):
        raise PermissionDenied(f"Needs the permission {permission}.")


def _context(request: HttpRequest, **extra: Any) -> dict[str, Any]:
    return {**admin.site.each_context(request), **extra}


def dashboard_context(request: HttpRequest) -> dict[str, Any]:
    """What the admin's index adds for a staff member who may see the dashboard (config.admin)."""
    if not request.user.has_perm(PERM + "view_dashboard"):
        return {}
    try:
        days = int(request.GET.get("days", "30"))
    except ValueError:
        days = 30
    if days not in selectors.RANGES:
        days = 30
    data = selectors.dashboard(days=days)
    return {
        "dashboard": data,
        "dashboard_ranges": selectors.RANGES,
        "dashboard_chart_data": {"labels": data["labels"], "series": data["series"]},
        "can_view_health": request.user.has_perm(PERM + "view_health"),
    }


def health_view(request: HttpRequest) -> HttpResponse:
    _require(request, PERM + "view_health")
    panel = health.last_hour()
    return TemplateResponse(
        request,
        "backoffice/health.html",
        _context(request, title="Service health, last hour", panel=panel, chart_data=panel["series"]),
    )


def user_search(request: HttpRequest) -> HttpResponse:
    _require(request, "accounts.view_user")
    query = request.GET.get("q", "").strip()
    users = list(User.objects.filter(email__icontains=query).order_by("email")[:50]) if query else []
    return TemplateResponse(
        request,
        "backoffice/user_search.html",
        _context(request, title="Find a user", query=query, users=users),
    )


def user_page(request: HttpRequest, user_id: UUID) -> HttpResponse:
    _require(request, "accounts.view_user")
    target = get_object_or_404(User, pk=user_id)
    staff = _staff(request)
    return TemplateResponse(
        request,
        "backoffice/user.html",
        _context(
            request,
            title=f"Staff actions: {target.email}",
            target=target,
            api_keys=list(ApiKey.objects.filter(user=target).order_by("-created_at")),
            memberships=list(Member.objects.filter(user=target).select_related("workspace")),
            actions=[a for a in ACTIONS.values() if a.allowed(staff, target)],
            can_revoke_keys=(
                staff.has_perm(PERM + "revoke_api_key") and may_act_on(staff, target, "revoke-key")
            ),
            can_remove_members=(
                staff.has_perm(PERM + "remove_workspace_member")
                and may_act_on(staff, target, "remove-member")
            ),
        ),
    )


@dataclass(frozen=True)
class Action:
    slug: str
    label: str
    permission: str
    explanation: str
    run: Callable[[HttpRequest, User, User], HttpResponseBase | str]
    applies: Callable[[User], bool] = lambda target: True

    def allowed(self, staff: User, target: User) -> bool:
        return (
            staff.has_perm(PERM + self.permission)
            and self.applies(target)
            and may_act_on(staff, target, self.slug)
        )


# Actions a staff member may not take on their own account (they would lock themselves out).
NOT_ON_ONESELF = {"deactivate", "delete"}


def may_act_on(staff: User, target: User, slug: str) -> bool:
    """A superuser's account is acted on by superusers only (a support permission must not let its holder
    lock out or delete the people who grant permissions), and nobody deactivates or deletes themself here."""
    if target.is_superuser and not staff.is_superuser:
        return False
    return not (target.pk == staff.pk and slug in NOT_ON_ONESELF)


def _deactivate(request: HttpRequest, staff: User, target: User) -> str:
    user_deactivate(user=target, by_staff=staff)
    return f"Deactivated {target.email}: their sessions are revoked and their live connections closed."


def _reactivate(request: HttpRequest, staff: User, target: User) -> str:
    user_activate(user=target, by_staff=staff)
    return f"Reactivated {target.email}: they can log in again (their old sessions stay revoked)."


def _password_reset(request: HttpRequest, staff: User, target: User) -> str:
    password_reset_request(email=target.email, by_staff=staff)
    return f"Sent a password reset to {target.email}."


def _export(request: HttpRequest, staff: User, target: User) -> HttpResponseBase:
    try:
        stream = account_export(user=target, by_staff=staff)
    except ExportInProgress:
        messages.error(request, f"An export of {target.email} is already running; try again shortly.")
        return HttpResponseRedirect(_user_url(target.pk))
    response = StreamingHttpResponse(stream, content_type="application/json")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="daymark-export-{target.pk}-{stamp}.json"'
    return response


def _delete(request: HttpRequest, staff: User, target: User) -> str:
    email = target.email
    account_delete_by_staff(user=target, by_staff=staff)
    return f"Deleted the account of {email} and everything it owned."


ACTIONS = {
    a.slug: a
    for a in (
        Action(
            "deactivate",
            "Deactivate",
            "deactivate_user",
            "They can no longer log in, refresh a session or use an API key; every session is revoked "
            "and their live connections are closed. Nothing they own is deleted.",
            _deactivate,
            applies=lambda target: target.is_active,
        ),
        Action(
            "reactivate",
            "Reactivate",
            "deactivate_user",
            "They can log in again. Sessions revoked when they were deactivated stay revoked.",
            _reactivate,
            applies=lambda target: not target.is_active,
        ),
        Action(
            "password-reset",
            "Send a password reset",
            "send_password_reset",
            "Mails them a one-time reset token, as `auth/password/reset` does. Their password is not "
            "changed until they use it.",
            _password_reset,
            applies=lambda target: target.is_active,
        ),
        Action(
            "export",
            "Export their data",
            "export_user_data",
            "Downloads everything they own and see, in the format of `user/export` (for a data-access "
            "request). Handle the file as personal data.",
            _export,
        ),
        Action(
            "delete",
            "Delete the account",
            "delete_user",
            "Deletes the account and everything it owns, as `DELETE user` does: their workspaces are "
            "handed to another member (or deleted when they were alone). This cannot be undone.",
            _delete,
        ),
    )
}


def _user_url(user_id: Any) -> str:
    return reverse("admin:backoffice-user", args=[user_id])


def _confirm(
    request: HttpRequest, *, title: str, explanation: str, target: User, button: str
) -> HttpResponse:
    return TemplateResponse(
        request,
        "backoffice/confirm.html",
        _context(request, title=title, explanation=explanation, target=target, button=button),
    )


@require_http_methods(["GET", "POST"])
def user_action(request: HttpRequest, user_id: UUID, action: str) -> HttpResponseBase:
    chosen = ACTIONS.get(action)
    if chosen is None:
        raise Http404("No such action.")
    _require(request, PERM + chosen.permission)
    target = get_object_or_404(User, pk=user_id)
    if not may_act_on(_staff(request), target, chosen.slug):
        raise PermissionDenied("Not on this account: a superuser's, or your own.")
    if not chosen.applies(target):
        messages.warning(request, f"{chosen.label}: not possible for {target.email} as they are now.")
        return HttpResponseRedirect(_user_url(target.pk))
    if request.method == "GET":
        return _confirm(
            request,
            title=f"{chosen.label}: {target.email}?",
            explanation=chosen.explanation,
            target=target,
            button=chosen.label,
        )
    outcome = chosen.run(request, _staff(request), target)
    if isinstance(outcome, HttpResponseBase):
        return outcome
    messages.success(request, outcome)
    if action == "delete":
        return HttpResponseRedirect(reverse("admin:index"))
    return HttpResponseRedirect(_user_url(target.pk))


@require_http_methods(["GET", "POST"])
def revoke_api_key(request: HttpRequest, user_id: UUID, key_id: UUID) -> HttpResponse:
    _require(request, PERM + "revoke_api_key")
    api_key = get_object_or_404(ApiKey.objects.select_related("user"), pk=key_id, user_id=user_id)
    if not may_act_on(_staff(request), api_key.user, "revoke-key"):
        raise PermissionDenied("A superuser's keys are revoked by a superuser.")
    if request.method == "GET":
        return _confirm(
            request,
            title=f"Revoke the API key {api_key}?",
            explanation="Requests with this key are refused from now on. The key cannot be restored.",
            target=api_key.user,
            button="Revoke the key",
        )
    api_key_revoke(api_key=api_key, by_staff=_staff(request))
    messages.success(request, f"Revoked the API key {api_key}.")
    return HttpResponseRedirect(_user_url(user_id))


@require_http_methods(["GET", "POST"])
def remove_member(request: HttpRequest, user_id: UUID, workspace_id: UUID) -> HttpResponse:
    _require(request, PERM + "remove_workspace_member")
    member = get_object_or_404(
        Member.objects.select_related("workspace", "user"), user_id=user_id, workspace_id=workspace_id
    )
    if not may_act_on(_staff(request), member.user, "remove-member"):
        raise PermissionDenied("A superuser is removed by a superuser.")
    if request.method == "GET":
        return _confirm(
            request,
            title=f"Remove {member.user.email} from {member.workspace.name}?",
            explanation="They lose access at once: the workspace leaves their devices at their next sync, "
            "and items assigned to them there become unassigned. An owner cannot be removed.",
            target=member.user,
            button="Remove from the workspace",
        )
    try:
        member_remove_by_staff(by_staff=_staff(request), workspace_id=workspace_id, member_user_id=user_id)
    except LastOwner:
        messages.error(request, "An owner cannot be removed: they hand the workspace over first.")
    else:
        messages.success(request, f"Removed {member.user.email} from {member.workspace.name}.")
    return HttpResponseRedirect(_user_url(user_id))
