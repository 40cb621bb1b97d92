"""Cursor (keyset) pagination for every list endpoint (docs/api/README.md).

The cursor is the position of a row in the chosen ordering plus the id as a tie-breaker, so pages stay
stable while rows are inserted, cost one query whatever the depth, and nullable orderings (`due_date`,
`completed_at`) work: nulls sort last.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import UTC
from typing import Any
from uuid import UUID

from django.db import models
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from rest_framework.pagination import BasePagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from core.problems import validation_error

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
# `?limit=` takes at most nine digits (a larger value is clamped to the maximum, a longer one is a 400).
MAX_LIMIT_PARAMETER = 999_999_999


def parse_limit(raw: str | None, *, default: int = DEFAULT_LIMIT, maximum: int = MAX_LIMIT) -> int:
    """`?limit=`: a positive integer; larger than the maximum is clamped, anything else is a 400."""
    if raw is None or raw == "":
        return default
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 9 or int(raw) < 1:
        raise validation_error({"limit": ["Must be a positive integer."]})
    return min(int(raw), maximum)


def parse_ordering(raw: str | None, allowed: Sequence[str], default: str) -> tuple[str, bool]:
    """`?ordering=field` or `-field` from the allow-list; anything else is a 400."""
    value = raw if raw else default
    descending = value.startswith("-")
    name = value[1:] if descending else value
    if name not in allowed:
        choices = ", ".join(allowed)
        raise validation_error({"ordering": [f"Must be one of {choices}, optionally with a leading '-'."]})
    return name, descending


def _position_value(model_field: Any, value: Any) -> Any:
    """A cursor's position value, checked against the type `_encode` wrote for `model_field`."""
    if value is None:
        if not model_field.null:
            raise ValueError("null position for a non-null field")
        return None
    if isinstance(model_field, models.DateTimeField):
        parsed = parse_datetime(value) if isinstance(value, str) else None
        if parsed is None or timezone.is_naive(parsed):
            raise ValueError("not an aware datetime")
        return parsed.astimezone(UTC)  # OverflowError at the ends of the calendar
    if isinstance(model_field, models.DateField):
        parsed_date = parse_date(value) if isinstance(value, str) else None
        if parsed_date is None:
            raise ValueError("not a date")
        return parsed_date
    if isinstance(model_field, models.IntegerField):
        if type(value) is not int:
            raise ValueError("not an integer")
        return value
    if isinstance(model_field, models.CharField) and isinstance(value, str) and "\x00" not in value:
        return value
    raise ValueError("not a value of the ordering field")


def _position_of(row: Any, attname: str) -> tuple[Any, str]:
    """A row's place in the order: a model instance, or a dict from `values()` that has `attname` and `id`."""
    if isinstance(row, dict):
        return row[attname], str(row["id"])
    return getattr(row, attname), str(row.pk)


class KeysetPagination(BasePagination):
    cursor_query_param = "cursor"
    limit_query_param = "limit"

    def __init__(self) -> None:
        self.base_url = ""
        self.next_position: tuple[Any, str] | None = None
        self.previous_position: tuple[Any, str] | None = None

    # --- cursor encoding ---------------------------------------------------------------------------------
    @staticmethod
    def _encode(position: tuple[Any, str], reverse: bool) -> str:
        raw = json.dumps({"p": list(position), "r": reverse}, default=str, separators=(",", ":"))
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    def _decode(self, token: str, queryset: QuerySet, field: str) -> tuple[tuple[Any, str], bool]:
        """A cursor must have exactly the shape `_encode` gives it; anything else (tampered, or made for
        another ordering) is a 400, never a value the database chokes on."""
        try:
            padded = token + "=" * (-len(token) % 4)
            data = json.loads(base64.urlsafe_b64decode(padded.encode()))
            if not isinstance(data, dict) or set(data) != {"p", "r"} or not isinstance(data["r"], bool):
                raise ValueError("not a cursor")
            value, row_id = data["p"]
            if not isinstance(row_id, str):
                raise ValueError("the row id is not a string")
            position = (_position_value(queryset.model._meta.get_field(field), value), str(UUID(row_id)))
        except (
            ValueError,
            KeyError,
            TypeError,
            OverflowError,
            RecursionError,
            binascii.Error,
            UnicodeDecodeError,
        ) as e:
            raise validation_error({"cursor": ["Invalid cursor."]}) from e
        return position, data["r"]

    # --- paging ------------------------------------------------------------------------------------------
    def paginate_queryset(self, queryset: QuerySet, request: Request, view: Any = None) -> list[Any]:
        self.base_url = request.build_absolute_uri()
        limit = parse_limit(request.query_params.get(self.limit_query_param))
        field, descending = parse_ordering(
            request.query_params.get("ordering"),
            getattr(view, "ordering_fields", ("created_at",)),
            getattr(view, "default_ordering", "created_at"),
        )
        token = request.query_params.get(self.cursor_query_param)
        position, reverse = self._decode(token, queryset, field) if token else (None, False)

        ordered = queryset.order_by(*self._order(field, descending, reverse))
        if position is not None:
            ordered = ordered.filter(self._after(field, descending, reverse, position))
        rows = list(ordered[: limit + 1])
        has_more = len(rows) > limit
        rows = rows[:limit]
        if reverse:
            rows.reverse()

        attname = queryset.model._meta.get_field(field).attname
        first = _position_of(rows[0], attname) if rows else None
        last = _position_of(rows[-1], attname) if rows else None
        self.next_position = last if (has_more if not reverse else position is not None) else None
        self.previous_position = first if (has_more if reverse else position is not None) else None
        return rows

    @staticmethod
    def _order(field: str, descending: bool, reverse: bool) -> list[Any]:
        nulls_last = not reverse
        go_down = descending != reverse
        primary = (
            F(field).desc(nulls_last=nulls_last or None, nulls_first=(not nulls_last) or None)
            if go_down
            else F(field).asc(nulls_last=nulls_last or None, nulls_first=(not nulls_last) or None)
        )
        return [primary, "-id" if reverse else "id"]

    @staticmethod
    def _after(field: str, descending: bool, reverse: bool, position: tuple[Any, str]) -> Q:
        value, row_id = position
        beyond = "lt" if descending != reverse else "gt"
        id_beyond = "lt" if reverse else "gt"
        tie = Q(**{f"{field}__isnull": value is None, f"id__{id_beyond}": row_id})
        if value is None:
            # Nulls sort last: after a null only later nulls; before a null every non-null too.
            return tie | Q(**{f"{field}__isnull": False}) if reverse else tie
        same = Q(**{field: value, f"id__{id_beyond}": row_id})
        condition = Q(**{f"{field}__{beyond}": value}) | same
        return condition if reverse else condition | Q(**{f"{field}__isnull": True})

    def get_paginated_response(self, data: Any) -> Response:
        return Response(
            {
                "results": data,
                "next": self._link(self.next_position, False),
                "previous": self._link(self.previous_position, True),
            }
        )

    def _link(self, position: tuple[Any, str] | None, reverse: bool) -> str | None:
        if position is None:
            return None
        return replace_query_param(self.base_url, self.cursor_query_param, self._encode(position, reverse))

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        return {
            "type": "object",
            "required": ["results", "next", "previous"],
            "properties": {
                "results": schema,
                "next": {"type": "string", "format": "uri", "nullable": True},
                "previous": {"type": "string", "format": "uri", "nullable": True},
            },
        }

    def get_schema_operation_parameters(self, view: Any) -> list[dict[str, Any]]:
        fields = list(getattr(view, "ordering_fields", ()))
        params: list[dict[str, Any]] = [
            {
                "name": "cursor",
                "in": "query",
                "required": False,
                "description": "Opaque: the cursor of a `next` or `previous` URL, sent back unchanged. "
                "A cursor the server did not issue (or issued for another ordering) is 400.",
                "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "maxLength": 4096},
                "allowEmptyValue": True,  # empty: the first page
            },
            {
                "name": "limit",
                "in": "query",
                "required": False,
                "description": f"Page size (default {DEFAULT_LIMIT}; larger than {MAX_LIMIT} is clamped).",
                "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT_PARAMETER},
                "allowEmptyValue": True,  # empty: the default
            },
        ]
        if fields:
            params.append(
                {
                    "name": "ordering",
                    "in": "query",
                    "required": False,
                    "description": "Sort field, with '-' for descending.",
                    "schema": {"type": "string", "enum": fields + [f"-{f}" for f in fields]},
                }
            )
        return params
