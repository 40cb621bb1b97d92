"""The profile as a sync type. It is created by the server (registration, or lazily), never pushed."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.http import Http404

from accounts import profile_services
from accounts.models import Profile, User
from accounts.profile_serializers import ProfileSerializer, profile_representation
from core.versioning import BaseVersion
from sync.registry import SyncType, register


def profile_data(entity: Profile) -> dict[str, Any]:
    data = profile_representation(entity)
    data.pop("email", None)  # the login, which changes without the profile's version changing
    return data


def _update(*, user: User, entity_id: UUID, base: BaseVersion, data: dict[str, Any]) -> tuple[Profile, bool]:
    """Only the user's own profile id names it: any other id (another user's profile included) is not
    found, rather than silently writing the pusher's own profile."""
    if not Profile.objects.filter(user=user, pk=entity_id).exists():
        raise Http404
    return profile_services.profile_update(user=user, base=base, data=data)


def register_all() -> None:
    register(
        SyncType(
            model=Profile,
            serializer=ProfileSerializer,
            represent=profile_representation,
            to_data=profile_data,
            feed_queryset=lambda queryset: queryset.select_related("user"),
            update=_update,
        )
    )
