"""Session endpoints of API.md section 2."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import authenticate
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import services
from accounts.models import User
from accounts.serializers import (
    PasswordChangeSerializer,
    RefreshSerializer,
    RegisterResponseSerializer,
    RegisterSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from core.problems import ProblemError, validation_error


class InvalidCredentials(ProblemError):
    status_code = 401
    code = "authentication_failed"
    title = "Authentication failed"
    default_detail = "Wrong email or password."


def _user(request: Request) -> User:
    user = request.user
    assert isinstance(user, User)  # IsAuthenticated ran before the handler
    return user


def _validated(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _refresh_token_of(user: User, raw: str) -> RefreshToken:
    """The caller's own, still valid refresh token; anything else is a 400 that reveals nothing."""
    try:
        token = RefreshToken(raw)  # type: ignore[arg-type]
        token.check_blacklist()
    except TokenError as error:
        raise validation_error({"refresh": ["Invalid or expired refresh token."]}) from error
    if str(token.get("sub")) != str(user.pk):
        raise validation_error({"refresh": ["Invalid or expired refresh token."]})
    return token


class AuthView(APIView):
    """The auth endpoints that create a session need no credentials."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]


class RegisterView(AuthView):
    @extend_schema(request=RegisterSerializer, responses={201: RegisterResponseSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = _validated(RegisterSerializer, request)
        user = services.user_register(**data)
        body = {"user": UserSerializer(user).data, **services.session_tokens(user=user)}
        return Response(body, status=status.HTTP_201_CREATED)


class TokenView(AuthView):
    @extend_schema(request=TokenObtainSerializer, responses={200: TokenPairSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = _validated(TokenObtainSerializer, request)
        user = authenticate(request._request, email=data["email"], password=data["password"])
        if user is None or not isinstance(user, User):
            raise InvalidCredentials()
        return Response(services.session_tokens(user=user))


class TokenRefreshView(AuthView):
    @extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = _validated(RefreshSerializer, request)
        try:
            tokens = services.session_rotate(raw=data["refresh"])
        except TokenError as error:
            raise InvalidCredentials("The refresh token is invalid, expired or already used.") from error
        return Response(tokens)


class LogoutView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=RefreshSerializer, responses={204: OpenApiResponse(description="Revoked.")}, tags=["auth"]
    )
    def post(self, request: Request) -> Response:
        data = _validated(RefreshSerializer, request)
        services.session_revoke(refresh=_refresh_token_of(_user(request), data["refresh"]))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None, responses={204: OpenApiResponse(description="All sessions revoked.")}, tags=["auth"]
    )
    def post(self, request: Request) -> Response:
        services.sessions_revoke_all(user=_user(request))
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=PasswordChangeSerializer,
        responses={204: OpenApiResponse(description="Changed; other sessions revoked.")},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = _validated(PasswordChangeSerializer, request)
        user = _user(request)
        if not user.check_password(data["current_password"]):
            raise validation_error({"current_password": ["Wrong password."]})
        keep = _refresh_token_of(user, data["refresh"]).get("jti") if data.get("refresh") else None
        try:
            services.password_change(user=user, new_password=data["new_password"], keep_jti=keep)
        except DjangoValidationError as error:
            raise validation_error({"new_password": list(error.messages)}) from error
        return Response(status=status.HTTP_204_NO_CONTENT)
