"""The admin's bulk actions need the right to change what they act on. Django offers an action without
`permissions` to anyone who may view the list, so a support member with view rights only could deactivate
users, revoke keys and sessions, delete passkeys and remove members: each case is refused here, changes
nothing, and works once the change permission is given."""

from __future__ import annotations

from typing import cast

import pytest
from django.test import Client
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken

from accounts.models import ApiKey, Passkey, Session, User
from accounts.services.api_keys import api_key_create
from accounts.services.sessions import session_tokens
from tests.backoffice.conftest import staff_with
from tests.factories import MemberFactory, UserFactory, WorkspaceFactory
from workspaces.models import Member

pytestmark = pytest.mark.django_db


def _post_action(staff: User, page: str, action: str, pk: object) -> None:
    client = Client()
    client.force_login(staff)
    response = client.post(f"/admin/{page}/", {"action": action, "_selected_action": [str(pk)]}, follow=True)
    assert response.status_code == 200


def _passkey(user: User) -> Passkey:
    return Passkey.objects.create(
        user=user, name="phone", credential_id=b"cred-" + user.pk.bytes, public_key=b"key", user_handle=b"h"
    )


def _deactivated(target: User) -> bool:
    return not User.objects.get(pk=target.pk).is_active


def _revoked_sessions(target: User) -> bool:
    return BlacklistedToken.objects.filter(token__user=target).exists()


def _revoked_key(target: User) -> bool:
    return ApiKey.objects.filter(user=target, revoked_at__isnull=False).exists()


def _deleted_passkey(target: User) -> bool:
    return not Passkey.objects.filter(user=target).exists()


def _removed_member(target: User) -> bool:
    return not Member.objects.filter(user=target).exists()


CASES = {
    "deactivate": ("accounts/user", "accounts.change_user", lambda t: t.pk, _deactivated),
    "revoke_all_sessions": ("accounts/user", "accounts.change_user", lambda t: t.pk, _revoked_sessions),
    "revoke-key": (
        "accounts/apikey",
        "accounts.change_apikey",
        lambda t: ApiKey.objects.get(user=t).pk,
        _revoked_key,
    ),
    "delete_passkeys": (
        "accounts/passkey",
        "accounts.change_passkey",
        lambda t: Passkey.objects.get(user=t).pk,
        _deleted_passkey,
    ),
    "revoke-session": (
        "accounts/session",
        "accounts.change_session",
        lambda t: Session.objects.get(user=t).pk,
        _revoked_sessions,
    ),
    "remove_members": (
        "workspaces/member",
        "workspaces.change_member",
        lambda t: Member.objects.get(user=t).pk,
        _removed_member,
    ),
}


def _target() -> User:
    target = cast(User, UserFactory())
    api_key_create(user=target, name="build server", scopes=["read"])
    session_tokens(user=target)
    _passkey(target)
    MemberFactory.create(workspace=WorkspaceFactory.create(), user=target, role="editor")
    return target


@pytest.mark.parametrize("case", CASES)
def test_an_action_is_refused_with_view_rights_only_and_works_with_change_rights(case: str) -> None:
    page, change_permission, selected, done = CASES[case]
    action = case.split("-")[0]
    view_permission = change_permission.replace(".change_", ".view_")
    target = _target()

    viewer = staff_with(view_permission)
    _post_action(viewer, page, action, selected(target))
    assert not done(target)

    changer = staff_with(view_permission, change_permission)
    _post_action(changer, page, action, selected(target))
    assert done(target)


@pytest.mark.parametrize("action", ["deactivate", "revoke_all_sessions"])
def test_a_staff_member_who_may_change_users_leaves_superusers_and_themself_alone(action: str) -> None:
    superuser = cast(User, UserFactory(is_staff=True, is_superuser=True))
    session_tokens(user=superuser)
    changer = staff_with("accounts.view_user", "accounts.change_user")
    session_tokens(user=changer)

    for target in (superuser, changer):
        _post_action(changer, "accounts/user", action, target.pk)

    for target in (superuser, changer):
        assert User.objects.get(pk=target.pk).is_active
        assert not _revoked_sessions(target)
