"""OpenAPI: every operation documents its problem+json error answers (docs/api/errors.md)."""

from __future__ import annotations

import inspect
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers

from core.serializers import StrictFieldsMixin


class ProblemSerializer(serializers.Serializer):
    """RFC 9457 problem details."""

    type = serializers.CharField()
    title = serializers.CharField()
    status = serializers.IntegerField()
    detail = serializers.CharField()
    code = serializers.CharField(help_text="Stable machine-readable error name.")
    request_id = serializers.CharField()
    current = serializers.DictField(required=False, help_text="The entity as it is now (409, 412).")
    conflicting_fields = serializers.ListField(child=serializers.CharField(), required=False)

    def get_fields(self) -> dict[str, serializers.Field]:
        # `errors` would shadow Serializer.errors as a class attribute.
        fields = super().get_fields()
        fields["errors"] = serializers.DictField(
            child=serializers.ListField(child=serializers.CharField()),
            required=False,
            help_text="Validation errors by field: flat keys, nested fields dotted and list entries indexed "
            "(`preferences.focus_size`, `items[2].title`); `non_field_errors` for the body as a whole.",
        )
        return fields


PROBLEM_MEDIA = ("application/problem+json",)

_DESCRIPTIONS = {
    400: "validation_error or parse_error",
    401: "not_authenticated or authentication_failed (with WWW-Authenticate)",
    403: "permission_denied",
    404: "not_found (also for another user's object)",
    409: "version_conflict, id_conflict or idempotency_key_in_use",
    410: "cursor_expired",
    412: "precondition_failed (If-Match is not the current version)",
    413: "payload_too_large",
    422: "idempotency_key_reused",
    428: "version_required",
    429: "rate_limited (with Retry-After)",
}


def _is_ours(obj: Any) -> bool:
    """Defined in a domain app (not in core's plumbing, DRF or a library)."""
    module = getattr(obj, "__module__", "") or ""
    return module.split(".")[0] in DOMAIN_PACKAGES


DOMAIN_PACKAGES = {"accounts", "lists", "focus", "antitodo", "insights", "sync", "config"}


class AutoSchema(openapi.AutoSchema):
    """Adds the problem answers each operation can give. Views may name more in `extra_error_statuses`."""

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular's signature
        """The endpoint's own docstrings only: those of the plumbing it inherits (core, DRF) describe
        our internals, not the endpoint."""
        view_class = type(self.view)
        action = getattr(self.view, getattr(self.view, "action", None) or self.method.lower(), None)
        action_doc = action.__doc__ if action is not None and _is_ours(action) else None
        view_doc = view_class.__dict__.get("__doc__") if _is_ours(view_class) else None
        return inspect.cleandoc(action_doc or view_doc or "")

    def _error_statuses(self) -> set[int]:
        statuses = {429}
        method = self.method.upper()
        if self.get_auth():
            statuses |= {401, 403}
        if method in ("POST", "PUT", "PATCH"):
            statuses |= {400, 413}
        if method == "POST":
            statuses |= {409, 422}
        if "{" in self.path:
            statuses.add(404)
        if method == "GET" and self._is_list_view():
            statuses.add(400)  # filters, ordering, limit and cursor are validated
        if method in ("PUT", "PATCH", "DELETE") and getattr(self.view, "versioned", False):
            statuses |= {409, 412, 428}
        extra: dict[str, set[int]] = getattr(self.view, "extra_error_statuses", {})
        return statuses | set(extra.get(method, ()))

    def _map_serializer(self, serializer: Any, direction: str, bypass_extensions: bool = False) -> Any:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        if direction != "request" or not isinstance(serializer, StrictFieldsMixin):
            return schema
        # Unknown members are a 400 (docs/api/README.md); read-only members sent back are ignored.
        schema["additionalProperties"] = False
        if getattr(self.view, "versioned", False):
            schema.setdefault("properties", {})["version"] = {
                "type": "integer",
                "minimum": 1,
                "maximum": 2_000_000_000,
                "description": "The base version the client edited (PUT and PATCH; docs/api/versions.md). "
                "Or send If-Match instead. Ignored on create.",
            }
        return schema

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if self.method.upper() == "POST" and getattr(self.view, "versioned", False) and "201" in responses:
            # A retried create (same id, same content) answers 200 with the existing entity.
            responses.setdefault(
                "200", {**responses["201"], "description": "Already created by the same request (a retry)."}
            )
        for status in sorted(self._error_statuses()):
            if str(status) in responses:
                continue
            responses[str(status)] = self._get_response_for_code(
                OpenApiResponse(ProblemSerializer, description=_DESCRIPTIONS.get(status, "")),
                str(status),
                PROBLEM_MEDIA,
                direction,
            )
        return responses


class BodyOnDeleteAutoSchema(AutoSchema):
    """For the few DELETEs that take a body (`DELETE user {password}`): drf-spectacular documents
    request bodies for POST, PUT and PATCH only."""

    def _get_request_body(self, direction: str = "request") -> Any:
        if self.method != "DELETE":
            return super()._get_request_body(direction)
        self.method = "POST"
        try:
            return super()._get_request_body(direction)
        finally:
            self.method = "DELETE"

    def _error_statuses(self) -> set[int]:
        statuses = super()._error_statuses()
        return statuses | {400, 413} if self.method.upper() == "DELETE" else statuses
