"""`GET sync` (the change feed) and `POST sync` (push offline operations, then pull): docs/api/sync.md."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import MAX_LIMIT_PARAMETER
from core.problems import validation_error
from core.views import request_user
from sync import feed, push
from sync.cursors import MAX_LENGTH
from sync.serializers import SyncPushSerializer

_PUSH_FIELDS = frozenset({"cursor", "operations"})
_FEED_PARAMETERS = [
    OpenApiParameter(
        "cursor",
        {"type": "string", "maxLength": MAX_LENGTH},
        description="The last answer's cursor, sent back unchanged (opaque; an integer cursor of API 1.0 "
        "is accepted too); absent or empty: all. A cursor the server never issued is 400.",
    ),
    OpenApiParameter(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT_PARAMETER},
        description=f"Changes per answer (default {feed.DEFAULT_LIMIT}; larger than {feed.MAX_LIMIT} "
        "is clamped; empty: the default).",
    ),
]


class SyncView(APIView):
    # 400: an invalid cursor or limit (or body); 410 cursor_expired: the cursor is older than the
    # tombstones kept, do a full sync (docs/api/sync.md).
    extra_error_statuses = {"GET": {400, 410}, "POST": {410}}

    @extend_schema(parameters=_FEED_PARAMETERS, responses={200: OpenApiTypes.OBJECT}, tags=["sync"])
    def get(self, request: Request) -> Response:
        cursor = feed.parse_cursor(request.query_params.get("cursor"))
        limit = feed.parse_feed_limit(request.query_params.get("limit"))
        return Response(feed.changes_since(request_user(request), cursor, limit))

    @extend_schema(
        parameters=_FEED_PARAMETERS[1:],
        request=SyncPushSerializer,
        responses={200: OpenApiTypes.OBJECT},
        tags=["sync"],
    )
    def post(self, request: Request) -> Response:
        body = request.data
        if not isinstance(body, dict):
            raise validation_error({"non_field_errors": ["The body must be an object."]})
        unknown = sorted(str(key) for key in body if key not in _PUSH_FIELDS)
        if unknown:
            raise validation_error({key: ["Unknown field."] for key in unknown})
        operations = body.get("operations", [])
        if not isinstance(operations, list):
            raise validation_error({"operations": ["Must be a list."]})
        if len(operations) > push.MAX_OPERATIONS:
            raise validation_error({"operations": [f"At most {push.MAX_OPERATIONS} operations a request."]})
        cursor = feed.parse_cursor(body.get("cursor"))
        limit = feed.parse_feed_limit(request.query_params.get("limit"))
        user = request_user(request)
        # Refuse an unusable cursor before anything runs, so the client is not left without its results.
        feed.check_cursor(user, cursor)

        context: dict[str, Any] = {"request": request, "format": self.format_kwarg, "view": self}
        results = push.run_operations(user, operations, context)
        return Response({"results": results, **feed.changes_since(user, cursor, limit)})
