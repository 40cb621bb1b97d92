"""`user/export` and `user/import` (docs/api/README.md)."""

from __future__ import annotations

from django.http import StreamingHttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from portability import services
from portability.serializers import ImportResultSerializer, ImportSerializer


def _user(request: Request) -> User:
    assert isinstance(request.user, User)
    return request.user


class ExportView(APIView):
    @extend_schema(
        responses={200: OpenApiResponse(description="The `daymark-export` document, streamed.")},
        tags=["user"],
        description="One export at a time per user: another while one streams is 429 `rate_limited`.",
    )
    def get(self, request: Request) -> StreamingHttpResponse:
        return StreamingHttpResponse(
            services.account_export(user=_user(request)), content_type="application/json"
        )


class ImportView(APIView):
    @extend_schema(request=ImportSerializer, responses={200: ImportResultSerializer}, tags=["user"])
    def post(self, request: Request) -> Response:
        serializer = ImportSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        result = services.account_import(
            user=_user(request),
            document=serializer.validated_data["document"],
            mode=serializer.validated_data["mode"],
        )
        return Response(result)
