"""The profile as a sync type. It is created by the server (registration, or lazily), never pushed."""

from __future__ import annotations

from typing import Any

from accounts import profile_services
from accounts.models import Profile
from accounts.profile_serializers import ProfileSerializer
from sync.registry import SyncType, register


def profile_data(entity: Profile) -> dict[str, Any]:
    data = dict(ProfileSerializer(entity).data)
    data.pop("email", None)  # the login, which changes without the profile's version changing
    return data


def register_all() -> None:
    register(
        SyncType(
            name="profile",
            model=Profile,
            feed_queryset=lambda queryset: queryset.select_related("user"),
            serializer=ProfileSerializer,
            to_data=profile_data,
            update=lambda *, user, entity_id, base, data: profile_services.profile_update(
                user=user, base=base, data=data
            ),
        )
    )
