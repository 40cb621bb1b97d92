"""OpenAPI: every operation documents its problem+json error answers (docs/api/errors.md), its headers
(docs/api/limits.md, idempotency.md) and the version rules (docs/api/versions.md); config/openapi.py names
the operations."""

from __future__ import annotations

import inspect
import json
from typing import Any

from drf_spectacular import openapi
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers
from rest_framework.viewsets import GenericViewSet

from core.serializers import IGNORED_ON_WRITE, StrictFieldsMixin


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
    405: "method_not_allowed: the path does not take this method",
    409: "version_conflict, id_conflict or idempotency_key_in_use",
    410: "cursor_expired",
    412: "precondition_failed (If-Match is not the current version)",
    413: "payload_too_large (a body over 1 MiB)",
    414: "uri_too_long (a request line longer than the server reads)",
    415: "unsupported_media_type (a body that is not application/json)",
    422: "idempotency_key_reused",
    428: "version_required",
    429: "rate_limited (with Retry-After)",
    503: "service_unavailable (the database cannot be reached; with Retry-After)",
}

# Headers and parameters shared by many operations: defined once in components (config/openapi.py).
HEADER_REF = "#/components/headers/"
PARAMETER_REF = "#/components/parameters/"
BODY_METHODS = ("POST", "PUT", "PATCH")


def _is_ours(obj: Any) -> bool:
    """Defined in a domain app (not in core's plumbing, DRF or a library)."""
    module = getattr(obj, "__module__", "") or ""
    return module.split(".")[0] in DOMAIN_PACKAGES


DOMAIN_PACKAGES = {"accounts", "lists", "focus", "antitodo", "insights", "workspaces", "sync", "config"}


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

    def _versioned(self) -> bool:
        return bool(getattr(self.view, "versioned", False))

    def _updates_by_id(self) -> bool:
        """PUT or PATCH of `<resource>/{id}`: a body's `id` can only repeat the path's."""
        return (
            self.method.upper() in ("PUT", "PATCH")
            and self._versioned()
            and isinstance(self.view, GenericViewSet)
        )

    def _error_statuses(self) -> set[int]:
        statuses = {405, 429, 503}
        method = self.method.upper()
        if self.get_auth():
            statuses |= {401, 403}
        if method in BODY_METHODS:
            statuses |= {400, 413, 415}
        if method == "POST":
            statuses |= {409, 422}
        if "{" in self.path:
            statuses.add(404)
        if method == "GET" and self._is_list_view():
            # Filters, ordering, limit and cursor are validated; a query string can outgrow the request line.
            statuses |= {400, 414}
        if method in ("PUT", "PATCH", "DELETE") and self._versioned():
            statuses |= {409, 412, 428}
        if method == "DELETE" and self._versioned():
            statuses |= {400, 414}  # a `?version=` or If-Match that is not a version; a too long `?version=`
        extra: dict[str, set[int]] = getattr(self.view, "extra_error_statuses", {})
        return statuses | set(extra.get(method, ()))

    def get_serializer_name(self, serializer: Any, direction: Any) -> str:
        # A PUT body differs from a create's (its `id` is the path's): its own component.
        name = str(super().get_serializer_name(serializer, direction))
        if direction == "request" and self.method.upper() == "PUT" and self._updates_by_id():
            return name.removesuffix("Serializer") + "Replace"
        return name

    def _map_serializer(self, serializer: Any, direction: str, bypass_extensions: bool = False) -> Any:
        schema = super()._map_serializer(serializer, direction, bypass_extensions)
        # A component's description is written for clients (config/openapi.py), never a class docstring.
        schema.pop("description", None)
        if direction == "response":
            if not isinstance(serializer, ProblemSerializer) and "properties" in schema:
                # Our answers carry every member of their serializer (null when empty).
                schema["required"] = sorted(schema["properties"])
                for member in schema["properties"].values():
                    member.pop("default", None)  # a request's business
            return schema
        if not isinstance(serializer, StrictFieldsMixin) or not isinstance(
            serializer, serializers.Serializer
        ):
            return schema
        # Unknown members are a 400 (docs/api/README.md); read-only members sent back are ignored.
        schema["additionalProperties"] = False
        properties = schema.setdefault("properties", {})
        for name, field in serializer.fields.items():
            if field.read_only and name in _ignored_on_write(serializer) and name not in properties:
                properties[name] = {
                    **self._map_serializer_field(field, "response"),
                    "readOnly": True,
                    "description": "Read-only: sent back as received, it is ignored.",
                }
        if self._versioned():
            properties["version"] = {
                "type": "integer",
                "minimum": 1,
                "maximum": 2_000_000_000,
                "description": "The base version the client edited (PUT and PATCH), or send If-Match "
                "instead (docs/api/versions.md). Stale: the change is merged when none of its fields "
                "changed since, otherwise 409 `version_conflict`. Ignored on create.",
            }
        if self._updates_by_id() and "id" in properties:
            properties["id"] = {
                **properties["id"],
                "readOnly": True,
                "description": "Sent back as received it must be the path's id: an id cannot change.",
            }
        _without_defaults(schema)
        return schema

    def _get_parameters(self) -> list[Any]:
        parameters: list[Any] = list(super()._get_parameters())
        method = self.method.upper()
        if method in ("PUT", "PATCH", "DELETE") and self._versioned():
            parameters.append({"$ref": PARAMETER_REF + "IfMatch"})
        if method == "DELETE" and self._versioned():
            parameters.append({"$ref": PARAMETER_REF + "Version"})
        if method == "POST":
            parameters.append({"$ref": PARAMETER_REF + "IdempotencyKey"})
        return parameters

    def _get_response_headers_for_code(self, status_code: Any, direction: Any = "response") -> Any:
        headers = dict(super()._get_response_headers_for_code(status_code, direction))
        status, method = int(status_code), self.method.upper()
        names = ["X-Request-ID", "RateLimit", "RateLimit-Policy"]
        if status in (429, 503):
            names.append("Retry-After")
        answers_etag = self._versioned() or getattr(self.view, "answers_etag", False)
        if status in (200, 201) and answers_etag and not self._is_list_view():
            names.append("ETag")
        if status == 201 and method == "POST" and isinstance(self.view, GenericViewSet) and self._versioned():
            names.append("Location")
        if method == "POST" and status < 500:
            names.append("Idempotent-Replayed")
        headers.update({name: {"$ref": HEADER_REF + name} for name in names})
        return headers

    def _get_response_bodies(self, direction: Any = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if self.method.upper() == "POST" and self._versioned() and "201" in responses:
            # A retried create (same id, same content) answers 200 with the existing entity.
            responses.setdefault(
                "200",
                {
                    **self._get_response_for_code(self.get_response_serializers(), "200"),
                    "description": "Already created by the same request (a retry).",
                },
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


def _ignored_on_write(serializer: Any) -> set[str]:
    meta = getattr(serializer, "Meta", None)
    return set(IGNORED_ON_WRITE) | set(getattr(meta, "ignored_fields", ()))


def _without_defaults(schema: dict[str, Any]) -> None:
    """A request member's `default` is the server's business: in a generated client it makes the member
    required (openapi-typescript) or sends the default explicitly. It is said in the description."""
    for member in schema.get("properties", {}).values():
        if "default" in member:
            default = member.pop("default")
            if default not in ("", None):
                note = f"Default: {json.dumps(default)}."
                member["description"] = (
                    f"{member['description']} {note}" if member.get("description") else note
                )


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
        return statuses | {400, 413, 415} if self.method.upper() == "DELETE" else statuses
