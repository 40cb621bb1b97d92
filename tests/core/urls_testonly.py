"""A test-only URLconf: the real one plus routes that production must never have."""

from __future__ import annotations

from datetime import UTC, date, datetime

from django.http import HttpRequest, JsonResponse
from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.urls import urlpatterns as production_urlpatterns
from core.deprecation import deprecated


def boom(request: HttpRequest) -> JsonResponse:
    raise RuntimeError("boom: an unhandled error")


@deprecated(
    since=datetime(2026, 1, 1, tzinfo=UTC),
    sunset=date(2027, 1, 1),
    link="https://daymark.app/docs/migrate-v1-old",
)
class OldThingView(APIView):
    authentication_classes: list[type] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"old": True})


@deprecated(since=datetime(2026, 1, 1, tzinfo=UTC))
def old_function(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"old": True})


urlpatterns = [
    path("api/v1/test-only/boom", boom),
    path("api/v1/test-only/old-thing", OldThingView.as_view()),
    path("api/v1/test-only/old-function", old_function),
    *production_urlpatterns,
]
