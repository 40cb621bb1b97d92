from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from accounts.models import Profile, User
from sync import registry
from sync.models import ChangeRecord
from tests.conftest import client_for

URL = "/api/v1/user/profile"


def _patch(user_client: APIClient, body: dict[str, Any], **headers: Any) -> Any:
    return user_client.patch(URL, body, format="json", **headers)


def test_it_shows_the_profile_with_its_etag(user_client: APIClient, user: User) -> None:
    response = user_client.get(URL)
    assert response.status_code == 200
    body = response.json()
    assert body["email"] == user.email
    assert body["timezone"] == "UTC"
    assert body["preferences"] == {
        "focus_size": 3,
        "focus_auto_generate": False,
        "focus_time": "07:00",
        "reminder_email": False,
        "week_start": 0,
    }
    assert body["onboarding"] == {"completed_steps": [], "completed_at": None}
    assert body["version"] == 1
    assert {"date_joined", "created_at", "updated_at", "display_name", "id"} <= set(body)
    assert response["ETag"] == '"1"'


def test_it_requires_authentication(api_client: APIClient, db: Any) -> None:
    assert api_client.get(URL).status_code == 401
    assert api_client.patch(URL, {"version": 1}, format="json").status_code == 401


def test_a_patch_without_a_base_version_is_428(user_client: APIClient) -> None:
    response = _patch(user_client, {"display_name": "Ann"})
    assert response.status_code == 428
    assert response.json()["code"] == "version_required"


def test_it_changes_the_user_row_and_bumps_the_profile_version(user_client: APIClient, user: User) -> None:
    response = _patch(user_client, {"version": 1, "display_name": "Ann", "timezone": "Pacific/Auckland"})
    assert response.status_code == 200, response.json()
    assert response.json()["version"] == 2
    user.refresh_from_db()
    assert (user.display_name, user.timezone) == ("Ann", "Pacific/Auckland")
    record = ChangeRecord.objects.filter(space__user=user, entity_type="profile").latest("number")
    assert record.version == 2
    assert record.fields == ["display_name", "timezone"]


def test_it_stores_focus_time_and_reminder_email(user_client: APIClient) -> None:
    response = _patch(
        user_client, {"version": 1, "preferences": {"focus_time": "06:45", "reminder_email": True}}
    )
    assert response.status_code == 200, response.content
    assert response.json()["preferences"]["focus_time"] == "06:45"
    assert response.json()["preferences"]["reminder_email"] is True
    assert user_client.get("/api/v1/user/profile").json()["preferences"]["focus_time"] == "06:45"


def test_preferences_merge_key_by_key(user_client: APIClient, user: User) -> None:
    assert _patch(user_client, {"version": 1, "preferences": {"focus_size": 5}}).status_code == 200
    response = _patch(user_client, {"version": 2, "preferences": {"week_start": 6}})
    assert response.json()["preferences"] == {
        "focus_size": 5,
        "focus_auto_generate": False,
        "focus_time": "07:00",
        "reminder_email": False,
        "week_start": 6,
    }


@pytest.mark.parametrize(
    "body",
    [
        {"preferences": {"colour": "red"}},
        {"preferences": {"focus_size": 0}},
        {"preferences": {"focus_size": 11}},
        {"preferences": {"week_start": 7}},
        {"preferences": {"focus_auto_generate": "perhaps"}},
        {"preferences": {"focus_time": "24:00"}},
        {"preferences": {"focus_time": "7:00"}},
        {"preferences": {"focus_time": "07:00:00"}},
        {"preferences": {"focus_time": 700}},
        {"preferences": {"reminder_email": "sometimes"}},
        {"preferences": "big"},
        {"timezone": "Mars/Olympus"},
        {"onboarding": {"completed_steps": ["fly"]}},
        {"onboarding": {"completed_at": "2999-01-01T00:00:00Z"}},
        {"unknown": 1},
    ],
)
def test_it_rejects_bad_profile_values_and_stores_nothing(
    user_client: APIClient, user: User, body: dict[str, Any]
) -> None:
    response = _patch(user_client, {"version": 1, **body})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    profile = Profile.objects.get(user=user)
    assert profile.version == 1
    assert "colour" not in profile.preferences


def test_read_only_fields_sent_back_are_ignored(user_client: APIClient, user: User) -> None:
    body = user_client.get(URL).json()
    body["email"] = "someone-else@example.com"
    body["display_name"] = "Bea"
    response = _patch(user_client, body)
    assert response.status_code == 200, response.json()
    assert response.json()["email"] == user.email
    assert response.json()["display_name"] == "Bea"


def test_stale_edits_of_different_preferences_merge(user_client: APIClient) -> None:
    assert _patch(user_client, {"version": 1, "preferences": {"focus_size": 4}}).status_code == 200
    response = _patch(user_client, {"version": 1, "preferences": {"week_start": 2}})
    assert response.status_code == 200
    assert response.json()["preferences"]["focus_size"] == 4
    assert response.json()["version"] == 3


def test_stale_edits_of_the_same_preference_conflict(user_client: APIClient) -> None:
    assert _patch(user_client, {"version": 1, "preferences": {"focus_size": 4}}).status_code == 200
    response = _patch(user_client, {"version": 1, "preferences": {"focus_size": 6}})
    assert response.status_code == 409
    body = response.json()
    assert body["conflicting_fields"] == ["preferences.focus_size"]
    assert body["current"]["preferences"]["focus_size"] == 4


def test_a_stale_if_match_is_412(user_client: APIClient) -> None:
    assert _patch(user_client, {"version": 1, "display_name": "A"}).status_code == 200
    response = _patch(user_client, {"display_name": "B"}, HTTP_IF_MATCH='"1"')
    assert response.status_code == 412
    assert response.json()["current"]["display_name"] == "A"


def test_completing_every_onboarding_step_stamps_completed_at(user_client: APIClient) -> None:
    steps = ["read_insights", "create_list", "add_item", "generate_focus", "log_anti_todo"]
    response = _patch(user_client, {"version": 1, "onboarding": {"completed_steps": steps}})
    onboarding = response.json()["onboarding"]
    assert onboarding["completed_steps"] == [
        "create_list",
        "add_item",
        "generate_focus",
        "log_anti_todo",
        "read_insights",
    ]
    assert onboarding["completed_at"] is not None


def test_a_user_made_without_a_profile_gets_one_through_the_write_path(db: Any) -> None:
    user = User.objects.create_superuser("admin@example.com", "a-long-enough-password")
    assert not Profile.objects.filter(user=user).exists()
    response = client_for(user).get(URL)
    assert response.status_code == 200
    assert response.json()["version"] == 1
    profile = Profile.objects.get(user=user)
    assert ChangeRecord.objects.filter(entity_id=profile.pk, version=1).exists()
    assert client_for(user).get(URL).json()["id"] == str(profile.pk)


def test_a_patch_of_a_user_without_a_profile_creates_then_changes_it(db: Any) -> None:
    user = User.objects.create_user("x@example.com", "a-long-enough-password")
    response = _patch(client_for(user), {"version": 1, "preferences": {"focus_size": 7}})
    assert response.status_code == 200
    assert response.json()["version"] == 2


def test_the_profile_sync_data_leaves_out_the_email(user: User) -> None:
    sync_type = registry.get("profile")
    assert sync_type is not None
    data = sync_type.to_data(Profile.objects.get(user=user))
    assert "email" not in data
    assert data["preferences"]["focus_size"] == 3


@pytest.mark.parametrize("value", ["2026-01-01", "2026-01-01T10:00:00", "yesterday"])
def test_onboarding_completed_at_must_be_an_rfc_3339_instant(user_client: Any, value: str) -> None:
    version = user_client.get("/api/v1/user/profile").json()["version"]

    response = user_client.patch(
        "/api/v1/user/profile", {"onboarding": {"completed_at": value}, "version": version}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
