"""Passkey endpoints (docs/api/passkeys.md): the two ceremonies, and the caller's passkeys."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import login_limits
from accounts.login_limits import LoginAttempt
from accounts.models import Passkey, User
from accounts.passkey_serializers import (
    PasskeyCeremonySerializer,
    PasskeyLoginBeginSerializer,
    PasskeyLoginFinishSerializer,
    PasskeyRegisterFinishSerializer,
    PasskeySerializer,
)
from accounts.serializers import TokenPairSerializer
from accounts.services.passkeys import (
    PasskeyRefused,
    passkey_delete,
    passkey_login,
    passkey_login_begin,
    passkey_register,
    passkey_registration_begin,
    passkey_rename,
)
from accounts.views import AuthView, InvalidCredentials, _session_only, _user, _validated
from core.problems import validation_error

TAGS = ["passkeys"]


class PasskeyRegisterBeginView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=None, responses={200: PasskeyCeremonySerializer}, tags=TAGS)
    def post(self, request: Request) -> Response:
        # A passkey logs in: only a login session adds one, never an API key.
        _session_only(request)
        ceremony, options = passkey_registration_begin(user=_user(request))
        return Response({"ceremony": str(ceremony), "options": options})


class PasskeyRegisterFinishView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(request=PasskeyRegisterFinishSerializer, responses={201: PasskeySerializer}, tags=TAGS)
    def post(self, request: Request) -> Response:
        _session_only(request)
        data = _validated(PasskeyRegisterFinishSerializer, request)
        try:
            passkey = passkey_register(
                user=_user(request),
                ceremony_id=data["ceremony"],
                credential=data["credential"],
                name=data.get("name", ""),
            )
        except PasskeyRefused as refused:
            raise validation_error({"credential": [refused.reason]}) from refused
        return Response(PasskeySerializer(passkey).data, status=status.HTTP_201_CREATED)


class PasskeyLoginBeginView(AuthView):
    # The budget of auth/token (the same counter): a passkey login is a login.
    rate_limits = (login_limits.IP_BUDGET,)

    @extend_schema(request=PasskeyLoginBeginSerializer, responses={200: PasskeyCeremonySerializer}, tags=TAGS)
    def post(self, request: Request) -> Response:
        data = _validated(PasskeyLoginBeginSerializer, request)
        ceremony, options = passkey_login_begin(email=data.get("email") or None)
        return Response({"ceremony": str(ceremony), "options": options})


class PasskeyLoginFinishView(AuthView):
    rate_limits = (login_limits.IP_BUDGET,)

    @extend_schema(request=PasskeyLoginFinishSerializer, responses={200: TokenPairSerializer}, tags=TAGS)
    def post(self, request: Request) -> Response:
        data = _validated(PasskeyLoginFinishSerializer, request)

        def start_attempt(user: User) -> LoginAttempt:
            # The account's failure budgets of auth/token, spent before the signature is checked.
            account = User.objects.normalize_email(user.email)
            return login_limits.login_attempt(request, account, self.on_rate_limited)

        try:
            tokens = passkey_login(
                ceremony_id=data["ceremony"], credential=data["credential"], start_attempt=start_attempt
            )
        except PasskeyRefused as refused:
            raise InvalidCredentials("The passkey did not log in.") from refused
        return Response(tokens)


class PasskeyListView(mixins.ListModelMixin, generics.GenericAPIView):
    """The caller's own passkeys, newest first, cursor-paginated like every list."""

    permission_classes = [IsAuthenticated]
    serializer_class = PasskeySerializer
    ordering_fields = ("created_at",)
    default_ordering = "-created_at"

    def get_queryset(self) -> QuerySet[Passkey]:
        user = self.request.user
        if not isinstance(user, User):  # schema generation
            return Passkey.objects.none()
        return Passkey.objects.filter(user=user)

    @extend_schema(tags=TAGS)
    def get(self, request: Request) -> Response:
        return self.list(request)


class PasskeyDetailView(APIView):
    permission_classes = [IsAuthenticated]

    def _passkey(self, request: Request, passkey_id: Any) -> Passkey:
        return get_object_or_404(Passkey, pk=passkey_id, user=_user(request))

    @extend_schema(request=PasskeySerializer, responses={200: PasskeySerializer}, tags=TAGS)
    def patch(self, request: Request, passkey_id: str) -> Response:
        _session_only(request)
        passkey = self._passkey(request, passkey_id)
        data = _validated(PasskeySerializer, request)
        passkey = passkey_rename(user=_user(request), passkey=passkey, name=data["name"])
        return Response(PasskeySerializer(passkey).data)

    @extend_schema(responses={204: OpenApiResponse(description="Deleted; it no longer logs in.")}, tags=TAGS)
    def delete(self, request: Request, passkey_id: str) -> Response:
        _session_only(request)
        passkey_delete(user=_user(request), passkey=self._passkey(request, passkey_id))
        return Response(status=status.HTTP_204_NO_CONTENT)
