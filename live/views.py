from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import User
from core.problems import problem_response
from live.serializers import StreamTicketSerializer
from live.tickets import ticket_issue


class StreamTicketView(APIView):
    """A single-use ticket that opens one live-updates socket within 30 seconds (docs/api/live.md): for
    browsers, which cannot send an Authorization header on a WebSocket."""

    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={201: StreamTicketSerializer}, tags=["live"])
    def post(self, request: Request) -> Response:
        user = request.user
        assert isinstance(user, User)
        ticket = ticket_issue(user=user)
        return Response(
            StreamTicketSerializer({"ticket": ticket, "expires_in": settings.LIVE_TICKET_SECONDS}).data,
            status=status.HTTP_201_CREATED,
        )


@csrf_exempt
def stream_without_upgrade(request: HttpRequest) -> HttpResponse:
    """`/api/v1/stream` asked over plain HTTP (no WebSocket upgrade, or a proxy that dropped it): 426 with
    the protocol to upgrade to, instead of a 404 that says the address is wrong."""
    response = problem_response(
        426,
        "upgrade_required",
        "This address is a WebSocket (docs/api/live.md): open it with an Upgrade: websocket request.",
    )
    response["Upgrade"] = "websocket"
    response["Connection"] = "Upgrade"
    return response
