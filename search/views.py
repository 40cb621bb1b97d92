"""`GET search` (docs/api/search.md): the user's lists and items that match a query, best first. The
query syntax and the index live in lists (lists/search.py), whose items `q` filter uses them too."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.pagination import parse_limit
from core.problems import validation_error
from core.views import request_user
from lists import search
from search.serializers import SearchResultsSerializer

DEFAULT_LIMIT = 20
MAX_LIMIT = 100


def parse_types(raw: str | None) -> list[str]:
    """`?types=item,list` (default both); an unknown type is a 400."""
    if not raw:
        return list(search.TYPES)
    types = [value.strip() for value in raw.split(",")]
    unknown = sorted(set(types) - set(search.TYPES))
    if unknown:
        raise validation_error({"types": [f"Unknown type {unknown[0]!r}: use item, list or both."]})
    return types


class SearchView(APIView):
    permission_classes = [IsAuthenticated]
    extra_error_statuses = {"GET": {400}}  # a bad `q`, `types` or `limit`

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                required=True,
                description='The query (docs/api/search.md): words that must all match, `"a phrase"`, '
                "`-word` to exclude; the last word also matches as a prefix. 1 to 500 characters.",
            ),
            OpenApiParameter(
                "types",
                OpenApiTypes.STR,
                description="`item`, `list` or `item,list` (the default).",
                pattern=r"^(item|list)(,(item|list))*$",
            ),
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"How many (default {DEFAULT_LIMIT}; larger than {MAX_LIMIT} is clamped).",
            ),
        ],
        responses={200: SearchResultsSerializer},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        query = search.parse(params.get("q"))
        types = parse_types(params.get("types"))
        # An empty `limit=` is a 400 here, like an empty `q`: a search form sends what the user set.
        raw_limit = params.get("limit")
        if raw_limit == "":
            raise validation_error({"limit": ["Must be a positive integer."]})
        limit = parse_limit(raw_limit, default=DEFAULT_LIMIT, maximum=MAX_LIMIT)
        hits = search.search(user=request_user(request), query=query, types=types, limit=limit)
        # Shaped directly (SearchResultsSerializer documents the shape): `asdict` deep-copies every value
        # and the serializer walks every field, which cost a search of 20 results more CPU than its
        # queries' round trips (docs/performance.md). tests/search holds the two shapes equal.
        return Response({"results": [result(hit) for hit in hits]})


def result(hit: search.Hit) -> dict[str, Any]:
    """One result as SearchResultSerializer writes it (ids as text, `list` and `workspace` null when
    absent)."""
    return {
        "type": hit.type,
        "id": str(hit.id),
        "title": hit.title,
        "snippet": hit.snippet,
        "list": None if hit.list is None else str(hit.list),
        "workspace": None if hit.workspace is None else str(hit.workspace),
        "score": hit.score,
    }
