"""`user/calendar-feeds` (managed with the API's credentials) and `GET /calendar/<token>.ics` (the token is
the only credential). docs/api/calendar-feeds.md."""

from __future__ import annotations

from uuid import UUID

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status
from rest_framework.exceptions import PermissionDenied
from rest_framework.generics import get_object_or_404
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import ApiKey, User
from calendars import selectors
from calendars.models import CalendarFeed
from calendars.serializers import (
    CalendarFeedCreatedSerializer,
    CalendarFeedCreateSerializer,
    CalendarFeedSerializer,
)
from calendars.services import calendar_feed_create, calendar_feed_revoke
from calendars.tokens import hash_token, is_well_formed
from core.problems import problem_response
from core.ratelimit import Budget, Count, count, note_usages, retry_after


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)
    return user


def feed_url(request: HttpRequest, token: str) -> str:
    """The feed's address: under CALENDAR_FEED_BASE_URL when set (a deployment whose public name is not
    the one requests arrive with), else the host and scheme of this request."""
    path = f"/calendar/{token}.ics"
    base = settings.CALENDAR_FEED_BASE_URL.rstrip("/")
    return base + path if base else request.build_absolute_uri(path)


class CalendarFeedListView(mixins.ListModelMixin, generics.GenericAPIView):
    """The caller's own feeds, newest first, cursor-paginated like every list."""

    permission_classes = [IsAuthenticated]
    serializer_class = CalendarFeedSerializer
    ordering_fields = ("created_at",)
    default_ordering = "-created_at"

    def get_queryset(self) -> QuerySet[CalendarFeed]:
        user = self.request.user
        if not isinstance(user, User):  # schema generation
            return CalendarFeed.objects.none()
        return selectors.feeds_of(user)

    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(request=CalendarFeedCreateSerializer, responses={201: CalendarFeedCreatedSerializer})
    def post(self, request: Request) -> Response:
        if isinstance(request.auth, ApiKey):
            raise PermissionDenied("Calendar feeds are created with a login session, not with an API key.")
        serializer = CalendarFeedCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        feed, token = calendar_feed_create(user=_user(request), list_id=serializer.validated_data["list"])
        body = {**CalendarFeedSerializer(feed).data, "url": feed_url(request._request, token)}
        return Response(body, status=status.HTTP_201_CREATED)


class CalendarFeedDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={200: CalendarFeedSerializer})
    def get(self, request: Request, feed_id: UUID) -> Response:
        feed = get_object_or_404(selectors.feeds_of(_user(request)), pk=feed_id)
        return Response(CalendarFeedSerializer(feed).data)

    @extend_schema(responses={204: OpenApiResponse(description="Revoked: its URL answers 404 from now on.")})
    def delete(self, request: Request, feed_id: UUID) -> Response:
        calendar_feed_revoke(user=_user(request), feed_id=feed_id)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- The feed itself ---------------------------------------------------------------------------------------

# Per token, counted before the token is looked up (an unknown one spends its own budget too). Not per IP:
# calendar services (Google's) fetch the feeds of many people from few addresses.
FEED_BUDGET = Budget("calendar-feed", "RATE_LIMIT_CALENDAR_FEED")
CONTENT_TYPE = "text/calendar; charset=utf-8"


def _not_found() -> HttpResponse:
    return problem_response(404, "not_found", "No such calendar feed.")


def _matches(header: str, etag: str) -> bool:
    """If-None-Match (RFC 9110 13.1.2): `*`, or a list of entity tags compared weakly."""
    if header.strip() == "*":
        return True
    return any(tag.strip().removeprefix("W/") == etag for tag in header.split(","))


def _headers(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    # Private: the URL is a credential, and a shared cache would go on serving it after a revocation.
    # no-cache: every poll asks again, and an unchanged feed costs a 304.
    response["Cache-Control"] = "private, no-cache"
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "no-referrer"
    return response


def calendar_feed(request: HttpRequest, token: str) -> HttpResponse:
    """The calendar of a feed. A revoked, unknown or malformed token, a deactivated owner, or a list feed
    whose list its owner no longer sees: 404, the same answer for each."""
    if request.method not in ("GET", "HEAD"):
        response = problem_response(405, "method_not_allowed", "Method not allowed.")
        response["Allow"] = "GET, HEAD"
        return response
    counted = count([Count(FEED_BUDGET, hash_token(token))])
    if counted is not None:
        usages = counted[0]
        note_usages(request, usages)
        wait = retry_after(usages)
        if wait is not None:
            response = problem_response(429, "rate_limited", "Too many requests for this feed.")
            response["Retry-After"] = str(wait)
            return response
    if not is_well_formed(token):
        return _not_found()
    feed = selectors.feed_for_token(token)
    if feed is None:
        return _not_found()
    state = selectors.FeedState(feed)
    if not state.visible:
        return _not_found()
    if _matches(request.headers.get("If-None-Match", ""), state.etag):
        return _headers(HttpResponse(status=304), state.etag)
    calendar = HttpResponse(state.render(), content_type=CONTENT_TYPE)
    calendar["Content-Disposition"] = 'inline; filename="daymark.ics"'
    return _headers(calendar, state.etag)
