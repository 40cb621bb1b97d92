"""`user/webhooks` and its deliveries (docs/api/webhooks.md). Managed with a login session: an API key may
not create endpoints (a leaked key must not be able to send the user's data somewhere)."""

from __future__ import annotations

from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey, User
from webhooks import selectors, services
from webhooks.models import Delivery, Endpoint
from webhooks.serializers import (
    DeliverySerializer,
    EndpointCreatedSerializer,
    EndpointCreateSerializer,
    EndpointSerializer,
    EndpointUpdateSerializer,
)


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def _session_only(request: Request) -> None:
    if isinstance(request.auth, ApiKey):
        raise PermissionDenied("Webhooks are managed with a login session, not with an API key.")


class WebhookListView(mixins.ListModelMixin, generics.GenericAPIView):
    """The caller's webhooks, newest first, cursor-paginated like every list."""

    permission_classes = [IsAuthenticated]
    serializer_class = EndpointSerializer
    ordering_fields = ("created_at",)
    default_ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Endpoint]:
        user = self.request.user
        if not isinstance(user, User):  # schema generation
            return Endpoint.objects.none()
        return selectors.endpoints_of(user)

    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(request=EndpointCreateSerializer, responses={201: EndpointCreatedSerializer})
    def post(self, request: Request) -> Response:
        _session_only(request)
        serializer = EndpointCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint, secret = services.endpoint_create(user=_user(request), **serializer.validated_data)
        body = {**EndpointSerializer(endpoint).data, "secret": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class WebhookDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: EndpointSerializer})
    def get(self, request: Request, webhook_id: UUID) -> Response:
        endpoint = get_object_or_404(selectors.endpoints_of(_user(request)), pk=webhook_id)
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(request=EndpointUpdateSerializer, responses={200: EndpointSerializer})
    def patch(self, request: Request, webhook_id: UUID) -> Response:
        _session_only(request)
        get_object_or_404(selectors.endpoints_of(_user(request)), pk=webhook_id)
        serializer = EndpointUpdateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        endpoint = services.endpoint_update(
            user=_user(request), endpoint_id=webhook_id, **serializer.validated_data
        )
        return Response(EndpointSerializer(endpoint).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted, with its deliveries.")})
    def delete(self, request: Request, webhook_id: UUID) -> Response:
        services.endpoint_delete(user=_user(request), endpoint_id=webhook_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeliveryListView(mixins.ListModelMixin, generics.GenericAPIView):
    """The webhook's deliveries of the last 30 days, newest first."""

    permission_classes = [IsAuthenticated]
    serializer_class = DeliverySerializer
    ordering_fields = ("created_at",)
    default_ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Delivery]:
        user = self.request.user
        if not isinstance(user, User):  # schema generation
            return Delivery.objects.none()
        endpoint = get_object_or_404(selectors.endpoints_of(user), pk=self.kwargs["webhook_id"])
        return selectors.deliveries_of(endpoint)

    def get(self, request: Request, webhook_id: UUID) -> Response:
        return self.list(request)


class RedeliverView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={202: DeliverySerializer},
        description="One more attempt, due at once, with the same webhook-id. 400 when the webhook is not "
        "active.",
    )
    def post(self, request: Request, webhook_id: UUID, delivery_id: UUID) -> Response:
        delivery = services.delivery_redeliver(
            user=_user(request), endpoint_id=webhook_id, delivery_id=delivery_id
        )
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)


class TestView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None,
        responses={202: DeliverySerializer},
        description="A `ping` event for this webhook alone, delivered by the worker at once. 400 when the "
        "webhook is not active.",
    )
    def post(self, request: Request, webhook_id: UUID) -> Response:
        delivery = services.endpoint_test(user=_user(request), endpoint_id=webhook_id)
        return Response(DeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
