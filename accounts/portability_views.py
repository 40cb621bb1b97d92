"""`user/export` and `user/import` (API.md section 3)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import portability
from accounts.models import User
from core.serializers import StrictSerializer


class ImportSerializer(StrictSerializer):
    document = serializers.JSONField()
    mode = serializers.ChoiceField(choices=["merge", "replace"])


class ImportResultSerializer(serializers.Serializer):
    mode = serializers.CharField()
    imported = serializers.DictField(child=serializers.IntegerField())
    replaced_ids = serializers.DictField(
        child=serializers.UUIDField(), help_text="Taken ids and their new ids."
    )


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


class ExportView(APIView):
    @extend_schema(
        responses={200: OpenApiResponse(description="The `daymark-export` document.")}, tags=["user"]
    )
    def get(self, request: Request) -> Response:
        return Response(portability.account_export(user=_user(request)))


class ImportView(APIView):
    @extend_schema(request=ImportSerializer, responses={200: ImportResultSerializer}, tags=["user"])
    def post(self, request: Request) -> Response:
        serializer = ImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = portability.account_import(
            user=_user(request),
            document=serializer.validated_data["document"],
            mode=serializer.validated_data["mode"],
        )
        return Response(result)
