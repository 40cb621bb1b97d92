"""Staff edits in the admin go through the same services as the API: a profile field moves the profile's
version and reaches the user's devices by sync, a deactivation revokes the sessions, and every change is
in the audit log (zulip's `do_*` actions are the model)."""

from __future__ import annotations

from typing import Any, cast

import pytest
from django.db.models import Model
from django.test import Client
from rest_framework.test import APIClient

from accounts.models import ApiKey, AuditEvent, Profile, User
from accounts.services.api_keys import api_key_create
from accounts.services.sessions import session_tokens
from tests.conftest import client_for
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Event = AuditEvent.Event


def _value(value: Any) -> Any:
    if isinstance(value, Model):
        return value.pk
    if isinstance(value, list | tuple | set) or hasattr(value, "all"):
        items = value.all() if hasattr(value, "all") else value
        return [item.pk if isinstance(item, Model) else item for item in items]
    return "" if value is None else value


def _form_data(form: Any, prefix: str = "") -> dict[str, Any]:
    """What the browser posts for `form` as shown: each editable field's shown value."""
    data: dict[str, Any] = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = _value(form.initial.get(name, field.initial))
        if value is False:
            continue  # an unchecked box is not posted
        data[f"{prefix}{name}"] = "on" if value is True else value
    return data


def _change_page(staff_client: Client, url: str, **changes: Any) -> dict[str, Any]:
    """The change form's current values, inlines included, with `changes` applied."""
    page = staff_client.get(url)
    assert page.status_code == 200
    data = _form_data(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        formset = inline.formset
        data.update(
            {f"{formset.prefix}-{k}": v for k, v in formset.management_form.initial.items()},
        )
        for form in formset.forms:
            data.update(_form_data(form, prefix=f"{form.prefix}-"))
    for key, value in changes.items():
        if value is False:
            data.pop(key, None)
        else:
            data[key] = value
    return data


def _save(staff_client: Client, url: str, **changes: Any) -> None:
    response = staff_client.post(url, _change_page(staff_client, url, **changes))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""


def _pull(user: User) -> list[dict[str, Any]]:
    response = client_for(user).get("/api/v1/sync", {"cursor": 0})
    assert response.status_code == 200
    return list(response.json()["changes"])


def test_a_staff_edit_of_the_display_name_and_time_zone_reaches_the_users_devices(
    staff_client: Client, staff: User, user: User
) -> None:
    cursor = client_for(user).get("/api/v1/sync").json()["cursor"]
    version = Profile.objects.get(user=user).version

    _save(
        staff_client,
        f"/admin/accounts/user/{user.pk}/change/",
        display_name="Renamed by support",
        timezone="Asia/Tokyo",
    )

    profile = Profile.objects.get(user=user)
    assert profile.version == version + 1
    pulled = client_for(user).get("/api/v1/sync", {"cursor": cursor}).json()["changes"]
    assert [(c["type"], c["data"]["display_name"], c["data"]["timezone"]) for c in pulled] == [
        ("profile", "Renamed by support", "Asia/Tokyo")
    ]
    event = AuditEvent.objects.get(event=Event.USER_CHANGED)
    assert (event.user_id, event.target_id) == (staff.pk, str(user.pk))
    assert event.metadata["fields"] == ["display_name", "timezone"]


def test_a_staff_edit_merges_with_a_device_that_edited_other_fields(staff_client: Client, user: User) -> None:
    version = Profile.objects.get(user=user).version
    _save(staff_client, f"/admin/accounts/user/{user.pk}/change/", display_name="Support's name")

    response = client_for(user).patch(
        "/api/v1/user/profile", {"version": version, "timezone": "Europe/Paris"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert (response.json()["display_name"], response.json()["timezone"]) == (
        "Support's name",
        "Europe/Paris",
    )


def test_a_staff_deactivation_on_the_change_form_revokes_sessions_and_is_audited(
    staff_client: Client, staff: User, user: User
) -> None:
    refresh = session_tokens(user=user)["refresh"]

    _save(staff_client, f"/admin/accounts/user/{user.pk}/change/", is_active=False)

    user.refresh_from_db()
    assert not user.is_active
    answer = APIClient().post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json")
    assert answer.status_code == 401
    assert set(AuditEvent.objects.filter(target_id=str(user.pk)).values_list("event", flat=True)) >= {
        Event.USER_DEACTIVATED,
        Event.USER_CHANGED,
    }


def test_a_staff_reactivation_is_audited(staff_client: Client, staff: User) -> None:
    sleeper = cast(User, UserFactory(is_active=False))

    _save(staff_client, f"/admin/accounts/user/{sleeper.pk}/change/", is_active="on")

    sleeper.refresh_from_db()
    assert sleeper.is_active
    assert AuditEvent.objects.filter(event=Event.USER_ACTIVATED, target_id=str(sleeper.pk)).exists()


def test_a_change_of_staff_rights_is_audited_without_touching_the_profile(
    staff_client: Client, user: User
) -> None:
    version = Profile.objects.get(user=user).version

    _save(staff_client, f"/admin/accounts/user/{user.pk}/change/", is_staff="on")

    user.refresh_from_db()
    assert user.is_staff
    assert Profile.objects.get(user=user).version == version
    assert AuditEvent.objects.get(event=Event.USER_CHANGED).metadata["fields"] == ["is_staff"]


def test_an_invalid_time_zone_in_the_admin_changes_nothing(staff_client: Client, user: User) -> None:
    url = f"/admin/accounts/user/{user.pk}/change/"
    response = staff_client.post(url, _change_page(staff_client, url, timezone="Mars/Olympus"))

    assert response.status_code == 200  # the form again, with its error
    user.refresh_from_db()
    assert user.timezone == "UTC"
    assert not AuditEvent.objects.filter(event=Event.USER_CHANGED).exists()


def test_a_user_made_in_the_admin_has_a_profile_in_its_feed_and_is_audited(
    staff_client: Client, staff: User
) -> None:
    response = staff_client.post(
        "/admin/accounts/user/add/",
        {
            "email": "made@example.com",
            "usable_password": "true",
            "password1": "a perfectly fine passphrase 42",
            "password2": "a perfectly fine passphrase 42",
            "api_keys-TOTAL_FORMS": "0",
            "api_keys-INITIAL_FORMS": "0",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    made = User.objects.get(email="made@example.com")
    assert [change["type"] for change in _pull(made)] == ["profile"]
    event = AuditEvent.objects.get(event=Event.USER_CREATED)
    assert (event.user_id, event.target_id) == (staff.pk, str(made.pk))


def test_changing_an_api_keys_admin_flag_is_audited(staff_client: Client, staff: User, user: User) -> None:
    key, _secret = api_key_create(user=user, name="ci", scopes=["read"])

    _save(staff_client, f"/admin/accounts/apikey/{key.pk}/change/", is_admin="on")

    key.refresh_from_db()
    assert key.is_admin
    event = AuditEvent.objects.get(event=Event.API_KEY_CHANGED)
    assert (event.user_id, event.target_id) == (staff.pk, str(key.pk))
    assert (event.metadata["fields"], event.metadata["is_admin"]) == (["is_admin"], True)


def test_changing_the_admin_flag_on_the_users_page_is_audited_too(
    staff_client: Client, staff: User, user: User
) -> None:
    key, _secret = api_key_create(user=user, name="ci", scopes=["read"])

    _save(staff_client, f"/admin/accounts/user/{user.pk}/change/", **{"api_keys-0-is_admin": "on"})

    key.refresh_from_db()
    assert key.is_admin
    event = AuditEvent.objects.get(event=Event.API_KEY_CHANGED)
    assert (event.user_id, event.target_id) == (staff.pk, str(key.pk))
    assert not AuditEvent.objects.filter(event=Event.USER_CHANGED).exists()  # the user row did not change


def test_the_pages_of_users_data_cannot_write(staff: User) -> None:
    """Lists, items, focus cards and anti-todo entries are read-only in the admin, superusers included:
    their writes are the services' (and the services are the API's)."""
    from django.contrib import admin
    from django.test import RequestFactory

    from core.models import OwnedModel

    request = RequestFactory().get("/admin/")
    request.user = staff
    pages = [page for model, page in admin.site._registry.items() if issubclass(model, OwnedModel)]
    assert {page.model.__name__ for page in pages} >= {"List", "Item", "FocusCard", "AntiTodoEntry"}
    for page in pages:
        assert not page.has_add_permission(request)
        assert not page.has_change_permission(request)
        assert not page.has_delete_permission(request)


def test_renaming_an_api_key_in_the_admin_is_audited(staff_client: Client, user: User) -> None:
    key, _secret = api_key_create(user=user, name="ci", scopes=["read"])

    _save(staff_client, f"/admin/accounts/apikey/{key.pk}/change/", name="renamed")

    assert ApiKey.objects.get(pk=key.pk).name == "renamed"
    assert AuditEvent.objects.get(event=Event.API_KEY_CHANGED).metadata["fields"] == ["name"]
