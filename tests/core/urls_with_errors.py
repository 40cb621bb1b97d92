"""The real URLconf plus routes that fail on purpose, for the error-handling tests."""

from django.db import OperationalError
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


@api_view(["GET"])
@permission_classes([AllowAny])
def drf_database_down(request: Request) -> Response:
    # What Django raises when the pool gives no connection in time (psycopg_pool.PoolTimeout, wrapped).
    raise OperationalError("couldn't get a connection after 1.50 sec")


def django_database_down(request: HttpRequest) -> HttpResponse:
    raise OperationalError("connection refused")


urlpatterns = [
    path("api/v1/test/drf-database-down", drf_database_down),
    path("api/v1/test/django-database-down", django_database_down),
    path("api/v1/test/drf-boom", drf_boom),
    path("api/v1/test/django-boom", django_boom),
    *real_urlpatterns,
]
