"""Webhooks in the back office: staff see the endpoints (never their secrets) and their deliveries; those
with the change permission turn an endpoint off and send deliveries again, through the same services as
the API. Nobody creates or edits one here (they would choose where a user's data goes)."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from core.admin import ReadOnlyAdmin
from webhooks import services
from webhooks.models import Delivery, Endpoint


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdmin):
    list_display = ("id", "user", "url", "active", "disabled_reason", "failing_since", "created_at")
    list_filter = ("active", "disabled_reason", "created_at")
    search_fields = ("user__email", "url")
    list_select_related = ("user",)
    fields = ("id", "user", "url", "events", "active", "disabled_reason", "failing_since", "created_at")
    readonly_fields = fields
    actions = ("turn_off",)

    @admin.action(
        description="Turn off the selected webhooks (their pending deliveries fail)", permissions=["act"]
    )
    def turn_off(self, request: HttpRequest, queryset: QuerySet[Endpoint]) -> None:
        turned = 0
        for endpoint in queryset.filter(active=True).select_related("user"):
            services.endpoint_update(user=endpoint.user, endpoint_id=endpoint.pk, active=False)
            turned += 1
        self.message_user(request, f"{turned} webhook(s) turned off.", messages.SUCCESS)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "endpoint",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "created_at",
    )
    list_filter = ("status", "event__type", "created_at")
    search_fields = ("endpoint__user__email", "endpoint__url", "=id")
    list_select_related = ("endpoint", "event")
    fields = (
        "id",
        "endpoint",
        "event_type",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "last_attempt_at",
        "next_attempt_at",
        "created_at",
        "body",
    )
    readonly_fields = fields
    actions = ("redeliver",)

    @admin.display(description="event")
    def event_type(self, delivery: Delivery) -> str:
        return delivery.event.type

    @admin.display(description="body")
    def body(self, delivery: Delivery) -> str:
        return delivery.event.body

    @admin.action(description="Send the selected deliveries again", permissions=["act"])
    def redeliver(self, request: HttpRequest, queryset: QuerySet[Delivery]) -> None:
        sent = skipped = 0
        for delivery in queryset.select_related("endpoint__user"):
            endpoint = delivery.endpoint
            if not endpoint.active:
                skipped += 1
                continue
            services.delivery_redeliver(user=endpoint.user, endpoint_id=endpoint.pk, delivery_id=delivery.pk)
            sent += 1
        self.message_user(
            request, f"{sent} delivery(ies) due again; {skipped} of inactive webhooks left.", messages.INFO
        )
