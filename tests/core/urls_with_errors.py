"""The real URLconf plus routes that fail on purpose, for the error-handling tests."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response

from config.urls import urlpatterns as real_urlpatterns


@api_view(["GET"])
@permission_classes([AllowAny])
def drf_boom(request: Request) -> Response:
    raise RuntimeError("boom in a DRF view")


def django_boom(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("boom in a plain view")


urlpatterns = [
    path("api/v1/test/drf-boom", drf_boom),
    path("api/v1/test/django-boom", django_boom),
    *real_urlpatterns,
]
