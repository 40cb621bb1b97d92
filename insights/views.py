from __future__ import annotations

from typing import Any

import orjson
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.dates import DAY_SCHEMA, MAX_RANGE_DAYS, local_today, range_params
from core.renderers import JSONRenderer
from insights.selectors import insights
from insights.serializers import InsightsSerializer

DEFAULT_DAYS = 30


class InsightsView(APIView):
    permission_classes = [IsAuthenticated]
    extra_error_statuses = {"GET": {400}}  # an invalid date, `from` after `to`, over 366 days

    @extend_schema(
        parameters=[
            OpenApiParameter("from", DAY_SCHEMA, description="First day; default 29 days before `to`."),
            OpenApiParameter(
                "to",
                DAY_SCHEMA,
                description="Last day, not before `from`; default today (user's time zone). "
                f"At most {MAX_RANGE_DAYS} days.",
            ),
        ],
        responses={200: InsightsSerializer},
        tags=["insights"],
    )
    def get(self, request: Request) -> Response:
        first, last = range_params(
            request.query_params, default_to=local_today(request.user), default_days=DEFAULT_DAYS
        )
        # The answer's JSON as the cache keeps it, put in the response as it is.
        return Response(orjson.Fragment(insights(request.user, first, last, represent=_rendered)))


def _rendered(answer: dict[str, Any]) -> bytes:
    """The serializer's representation through the API's renderer: what the cache keeps, so a hit neither
    unpickles nor renders the answer's 750 objects (365 days) again; the same bytes as rendering it then."""
    return JSONRenderer().render(InsightsSerializer().to_representation(answer))
