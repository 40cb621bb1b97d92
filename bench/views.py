"""The benchmark's references for `GET items?list=` (never routed in production).

- `bare`: a plain Django view answering a constant JSON body: the ceiling of the stack (gunicorn, the
  middleware, the WSGI handler) for any request.
- `items_values`: the same 50-item page as ours, hand-written: the same JWT authentication, one
  `values()` query, the same JSON (same fields, formats and cursor links) through orjson. The ceiling for
  that query in this stack.
- `NaiveItemViewSet`: what the page looks like written the naive way: a DRF ModelViewSet with a
  ModelSerializer and DRF's PageNumberPagination, on the project's defaults (authentication, throttling,
  renderer).
"""

from __future__ import annotations

from typing import Any, cast

import orjson
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework import serializers, viewsets
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.utils.urls import replace_query_param
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken

from accounts.authentication import JWTAuthentication
from core.pagination import DEFAULT_LIMIT, KeysetPagination
from lists.models import Item

# Every field the real page answers (lists.models.Item.sync_fields between the id and the server's fields;
# tests/lists/test_bench_references.py holds the references' answers to the real page's).
FIELDS = ["id", "list_id", "title", "notes", "status", "priority", "due_date", "due_time", "position"]
FIELDS += ["completed_at", "assignee_id", "recurrence", "created_by_id", "completed_by_id", "series"]
FIELDS += ["version", "created_at", "updated_at"]


def bare(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def _timestamp(value: Any) -> str | None:
    return None if value is None else value.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _minute(value: Any) -> str | None:
    return None if value is None else value.strftime("%H:%M")


def items_values(request: HttpRequest) -> HttpResponse:
    try:
        # Our authentication keeps its outcome on the request DRF wraps (once per request).
        authenticated = JWTAuthentication().authenticate(Request(request))
    except (InvalidToken, AuthenticationFailed):
        authenticated = None
    if authenticated is None:
        return JsonResponse({"code": "not_authenticated"}, status=401)
    user = authenticated[0]
    rows = list(
        Item.objects.filter(user_id=user.pk, list_id=request.GET["list"])
        .order_by("position", "id")
        .values_list(*FIELDS)[: DEFAULT_LIMIT + 1]
    )
    has_more = len(rows) > DEFAULT_LIMIT
    rows = rows[:DEFAULT_LIMIT]
    results = [
        {
            "id": row[0],
            "list": row[1],
            "title": row[2],
            "notes": row[3],
            "status": row[4],
            "priority": row[5],
            "due_date": row[6],
            "due_time": _minute(row[7]),
            "position": row[8],
            "completed_at": _timestamp(row[9]),
            "assignee": row[10],
            "recurrence": row[11],
            "created_by": row[12],
            "completed_by": row[13],
            "series": row[14],
            "version": row[15],
            "created_at": _timestamp(row[16]),
            "updated_at": _timestamp(row[17]),
        }
        for row in rows
    ]
    next_link = None
    if has_more:
        cursor = KeysetPagination._encode((rows[-1][8], str(rows[-1][0])), False)
        next_link = replace_query_param(request.build_absolute_uri(), "cursor", cursor)
    body = {"results": results, "next": next_link, "previous": None}
    return HttpResponse(orjson.dumps(body), content_type="application/json")


class NaiveItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = Item
        fields = [
            "id",
            "list",
            "title",
            "notes",
            "status",
            "priority",
            "due_date",
            "due_time",
            "position",
            "completed_at",
            "assignee",
            "recurrence",
            "created_by",
            "completed_by",
            "series",
            "version",
            "created_at",
            "updated_at",
        ]


class NaiveItemViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = NaiveItemSerializer
    pagination_class = PageNumberPagination

    def get_queryset(self) -> Any:
        queryset = Item.objects.filter(user_id=cast(Any, self.request.user).pk).order_by("position", "id")
        if "list" in self.request.query_params:
            queryset = queryset.filter(list_id=self.request.query_params["list"])
        return queryset
