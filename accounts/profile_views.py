"""`user/profile` (docs/api/README.md), with the version rules of docs/api/versions.md for PATCH."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import Profile, User
from accounts.profile_serializers import ProfileSerializer, profile_representation
from accounts.profile_services import profile_for, profile_update
from core.versioning import base_version_from, etag_for


class ProfileView(APIView):
    permission_classes = [IsAuthenticated]
    versioned = True  # PATCH follows docs/api/versions.md (409, 412, 428)

    def represent(self, entity: Profile) -> dict[str, Any]:
        return profile_representation(entity)

    def _answer(self, profile: Profile) -> Response:
        return Response(self.represent(profile), headers={"ETag": etag_for(profile.version)})

    @extend_schema(responses={200: ProfileSerializer}, tags=["profile"])
    def get(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)
        return self._answer(profile_for(user))

    @extend_schema(request=ProfileSerializer, responses={200: ProfileSerializer}, tags=["profile"])
    def patch(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)
        base = base_version_from(request)
        serializer = ProfileSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        profile, _merged = profile_update(user=user, base=base, data=dict(serializer.validated_data))
        return self._answer(profile)
