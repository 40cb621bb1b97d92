"""`reminders`, `reminders/{id}`, `notifications`, `notifications/{id}`, `notifications/read-all`
(docs/api/reminders.md)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.db.models import QuerySet
from drf_spectacular.utils import OpenApiParameter, OpenApiTypes, extend_schema, extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from core.models import User
from core.problems import VersionRequired, validation_error
from core.versioning import BaseVersion, base_version_from, etag_for
from core.views import OwnedViewSet, VersionedModelViewSet, request_user
from reminders import services
from reminders.models import Notification, Reminder
from reminders.serializers import (
    NotificationReadSerializer,
    NotificationSerializer,
    ReadAllSerializer,
    ReminderSerializer,
    notification_representation,
    reminder_representation,
)


def _uuid_param(request: Request, name: str) -> UUID | None:
    raw = request.query_params.get(name)
    if raw is None:
        return None
    try:
        return UUID(raw)
    except ValueError:
        raise validation_error({name: ["Must be a UUID."]}) from None


@extend_schema_view(
    list=extend_schema(
        parameters=[
            OpenApiParameter("item", OpenApiTypes.UUID, description="Only the reminders of this item.")
        ]
    )
)
@extend_schema(tags=["reminders"])
class ReminderViewSet(VersionedModelViewSet):
    model = Reminder
    serializer_class = ReminderSerializer
    ordering_fields = ("fires_at", "created_at", "updated_at")
    default_ordering = "created_at"

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.action == "list":
            item = _uuid_param(self.request, "item")
            if item is not None:
                queryset = queryset.filter(item_id=item)
        return queryset

    def represent(self, entity: Reminder) -> dict[str, Any]:
        return reminder_representation(entity)

    def create_entity(
        self, user: User, entity_id: UUID | None, data: dict[str, Any]
    ) -> tuple[Reminder, bool]:
        return services.reminder_create(user=user, reminder_id=entity_id, data=data)

    def update_entity(
        self, user: User, entity_id: UUID, base: BaseVersion, data: dict[str, Any]
    ) -> tuple[Reminder, bool]:
        return services.reminder_update(user=user, reminder_id=entity_id, base=base, data=data)

    def delete_entity(self, user: User, entity_id: UUID, base: BaseVersion) -> None:
        services.reminder_delete(user=user, reminder_id=entity_id, base=base)


def _unread_param(request: Request) -> bool | None:
    raw = request.query_params.get("unread")
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise validation_error({"unread": ["Must be true or false."]})
    return raw == "true"


@extend_schema(tags=["notifications"])
class NotificationViewSet(OwnedViewSet):
    model = Notification
    serializer_class = NotificationSerializer
    http_method_names = ["get", "patch", "post", "head", "options"]
    ordering_fields = ("created_at",)
    default_ordering = "-created_at"

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if self.action == "list":
            unread = _unread_param(self.request)
            if unread is not None:
                queryset = queryset.filter(read_at__isnull=unread)
        return queryset

    def represent(self, entity: Notification) -> dict[str, Any]:
        return notification_representation(entity)

    @extend_schema(
        parameters=[
            OpenApiParameter("unread", OpenApiTypes.BOOL, description="true: only unread; false: only read.")
        ]
    )
    def list(self, request: Request) -> Response:
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(self.get_serializer(page, many=True).data)

    def retrieve(self, request: Request, pk: str | None = None) -> Response:
        notification = self.get_object()
        return Response(self.represent(notification), headers={"ETag": etag_for(notification.version)})

    @extend_schema(request=NotificationReadSerializer, responses=NotificationSerializer)
    def partial_update(self, request: Request, pk: str | None = None) -> Response:
        """Marks it read or unread. No version is needed (the result is the same whoever marks it first);
        an If-Match or a body `version` is checked when sent."""
        serializer = NotificationReadSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            base: BaseVersion | None = base_version_from(request)
        except VersionRequired:
            base = None
        notification = services.notification_mark(
            user=request_user(request),
            notification_id=UUID(str(pk)),
            read=serializer.validated_data["read"],
            base=base,
        )
        return Response(self.represent(notification), headers={"ETag": etag_for(notification.version)})

    @extend_schema(request=None, responses=ReadAllSerializer)
    @action(detail=False, methods=["post"], url_path="read-all")
    def read_all(self, request: Request) -> Response:
        """Marks every unread notification read."""
        count = services.notifications_read_all(user=request_user(request))
        return Response({"read": count}, status=status.HTTP_200_OK)
