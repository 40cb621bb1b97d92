"""`focus-card`, `focus-card/generate` and `focus-cards` (docs/api/README.md)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.dates import DAY_SCHEMA, MAX_RANGE_DAYS, day_param, local_today, range_params
from core.problems import VersionRequired
from core.versioning import base_version_from, etag_for
from core.views import request_user
from focus import selectors, services
from focus.models import FocusCard
from focus.serializers import (
    FocusCardGenerateSerializer,
    FocusCardPatchSerializer,
    FocusCardPutSerializer,
    FocusCardSerializer,
    card_representation,
)

DATE_PARAM = OpenApiParameter(
    "date",
    DAY_SCHEMA,
    description="The card's day (YYYY-MM-DD). Default: today in the user's time zone.",
)
NOT_FOUND = OpenApiResponse(description="focus_card_not_found: no card for this date.")


def _validated(serializer_class: type, request: Request, **kwargs: Any) -> dict[str, Any]:
    serializer = serializer_class(data=request.data, **kwargs)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


class FocusView(APIView):
    permission_classes = [IsAuthenticated]
    answers_etag = True  # every card answered carries its version as ETag (the schema says so)

    def represent(self, entity: FocusCard) -> dict[str, Any]:
        return card_representation(entity)

    def _answer(self, card: FocusCard, status_code: int = status.HTTP_200_OK) -> Response:
        shown = card_representation(card)
        return Response(shown, status=status_code, headers={"ETag": etag_for(shown["version"])})


class FocusCardView(FocusView):
    versioned = True
    extra_error_statuses = {"GET": {400}}  # `?date=` that is not a date

    @extend_schema(
        parameters=[DATE_PARAM], responses={200: FocusCardSerializer, 404: NOT_FOUND}, tags=["focus"]
    )
    def get(self, request: Request) -> Response:
        card = selectors.card_of_day(request.user, day_param(request.query_params, request.user))
        if card is None:
            raise services.FocusCardNotFound()
        return Response(FocusCardSerializer(card).data, headers={"ETag": etag_for(card.version)})

    @extend_schema(
        parameters=[DATE_PARAM],
        request=FocusCardPutSerializer,
        responses={200: FocusCardSerializer, 201: FocusCardSerializer},
        tags=["focus"],
        description="Creates the day's manual card (201), or replaces it (200; needs a base version).",
    )
    def put(self, request: Request) -> Response:
        day = day_param(request.query_params, request.user)
        try:
            base = base_version_from(request)
        except VersionRequired:
            base = None  # needed only when the card exists, which the service decides under the lock
        data = _validated(FocusCardPutSerializer, request)
        card, created = services.focus_card_put(
            user=request_user(request), day=day, base=base, data=data, card_id=data.pop("id", None)
        )
        return self._answer(card, status.HTTP_201_CREATED if created else status.HTTP_200_OK)

    @extend_schema(
        parameters=[DATE_PARAM],
        request=FocusCardPatchSerializer,
        responses={200: FocusCardSerializer, 404: NOT_FOUND},
        tags=["focus"],
    )
    def patch(self, request: Request) -> Response:
        day = day_param(request.query_params, request.user)
        base = base_version_from(request)
        data = _validated(FocusCardPatchSerializer, request, partial=True)
        card, _merged = services.focus_card_update(user=request_user(request), day=day, base=base, data=data)
        return self._answer(card)


class FocusCardGenerateView(FocusView):
    @extend_schema(
        request=FocusCardGenerateSerializer,
        responses={201: FocusCardSerializer, 200: FocusCardSerializer},
        tags=["focus"],
        description="201 with a new generated card; 200 with the existing card (regenerated when asked).",
    )
    def post(self, request: Request) -> Response:
        data = _validated(FocusCardGenerateSerializer, request)
        card, created = services.focus_card_generate(
            user=request_user(request),
            day=data.get("date") or local_today(request.user),
            size=data.get("size"),
            regenerate=data["regenerate"],
        )
        return self._answer(card, status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class FocusCardRangeView(FocusView):
    answers_etag = False  # a range of cards, each with its own version
    extra_error_statuses = {"GET": {400}}  # a missing or invalid end, `from` after `to`, over 366 days

    @extend_schema(
        parameters=[
            OpenApiParameter("from", DAY_SCHEMA, required=True, description="First day (YYYY-MM-DD)."),
            OpenApiParameter(
                "to",
                DAY_SCHEMA,
                required=True,
                description=f"Last day, not before `from`; at most {MAX_RANGE_DAYS} days.",
            ),
        ],
        responses={
            200: inline_serializer(
                "FocusCardRange",
                {
                    "results": FocusCardSerializer(many=True),
                    "next": serializers.CharField(allow_null=True),
                    "previous": serializers.CharField(allow_null=True),
                },
            )
        },
        tags=["focus"],
        description="Every card of the range by date: one page (a range holds at most 366 cards), so "
        "`next` and `previous` are always null.",
    )
    def get(self, request: Request) -> Response:
        first, last = range_params(request.query_params)
        cards = selectors.cards_between(request.user, first, last)
        return Response(
            {"results": FocusCardSerializer(cards, many=True).data, "next": None, "previous": None}
        )
