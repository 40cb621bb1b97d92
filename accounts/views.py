"""Session, password reset and API key endpoints of docs/api/authentication.md."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import QuerySet
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import generics, mixins, status
from rest_framework.exceptions import APIException, PermissionDenied
from rest_framework.exceptions import ValidationError as DRFValidationError
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import RefreshToken

from accounts import login_limits
from accounts.audit import audit_record
from accounts.models import ApiKey, AuditEvent, User
from accounts.serializers import (
    AccountDeleteSerializer,
    ApiKeyCreatedSerializer,
    ApiKeySerializer,
    PasswordChangeSerializer,
    PasswordResetConfirmSerializer,
    PasswordResetSerializer,
    RefreshSerializer,
    RegisterResponseSerializer,
    RegisterSerializer,
    TokenObtainSerializer,
    TokenPairSerializer,
    UserSerializer,
)
from accounts.services.account_deletion import account_delete
from accounts.services.api_keys import api_key_create, api_key_revoke
from accounts.services.password_reset import (
    password_reset_complete,
    password_reset_request,
    password_reset_user,
)
from accounts.services.passwords import password_change
from accounts.services.sessions import (
    session_login,
    session_revoke,
    session_revoke_everywhere,
    session_rotate,
    session_tokens,
)
from accounts.services.users import user_register
from core.problems import ProblemError, validation_error
from core.ratelimit import Budget, Usage, ip_budget
from core.schema import BodyOnDeleteAutoSchema


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


def _email_in_body(request: Request) -> str:
    try:
        data = request.data
    except APIException:  # a body that does not parse: the view answers it (400 or 415)
        return ""
    email = data.get("email") if isinstance(data, dict) else None
    return User.objects.normalize_email(email) if isinstance(email, str) else ""


class AuthView(APIView):
    """The auth endpoints that create a session need no credentials; each has its own budgets per IP (and
    logins per email: `accounts/login_limits.py`), and a refused attempt is written to the audit log once
    per window."""

    authentication_classes: list[type] = []
    permission_classes = [AllowAny]
    rate_limits: tuple[Budget, ...] = ()

    @staticmethod
    def on_rate_limited(request: Request, usage: Usage) -> None:
        audit_record(
            event=AuditEvent.Event.RATE_LIMITED,
            email=_email_in_body(request),
            target_type="endpoint",
            target_id=request.path,
            metadata={"policy": usage.name, "limit": usage.limit, "window": usage.window},
        )


class RegisterView(AuthView):
    rate_limits = (ip_budget("register-ip", "RATE_LIMIT_REGISTER_PER_IP"),)

    @extend_schema(request=RegisterSerializer, responses={201: RegisterResponseSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = _validated(RegisterSerializer, request)
        user = user_register(**data)
        body = {"user": UserSerializer(user).data, **session_tokens(user=user)}
        return Response(body, status=status.HTTP_201_CREATED)


class TokenView(AuthView):
    rate_limits = (login_limits.IP_BUDGET,)

    @extend_schema(request=TokenObtainSerializer, responses={200: TokenPairSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = _validated(TokenObtainSerializer, request)
        account = User.objects.normalize_email(data["email"])
        attempt = login_limits.login_attempt(request, account, self.on_rate_limited)
        tokens = session_login(request=request._request, email=data["email"], password=data["password"])
        if tokens is None:
            raise InvalidCredentials()
        attempt.succeeded()
        return Response(tokens)


class TokenRefreshView(AuthView):
    @extend_schema(request=RefreshSerializer, responses={200: TokenPairSerializer}, tags=["auth"])
    def post(self, request: Request) -> Response:
        data = _validated(RefreshSerializer, request)
        try:
            tokens = session_rotate(raw=data["refresh"])
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
        user = _user(request)
        session_revoke(user=user, refresh=_refresh_token_of(user, data["refresh"]))
        return Response(status=status.HTTP_204_NO_CONTENT)


class LogoutAllView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        request=None, responses={204: OpenApiResponse(description="All sessions revoked.")}, tags=["auth"]
    )
    def post(self, request: Request) -> Response:
        session_revoke_everywhere(user=_user(request))
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
        attempt = login_limits.login_attempt(request, User.objects.normalize_email(user.email))
        if not user.check_password(data["current_password"]):
            attempt.confirmation_failed()
            raise validation_error({"current_password": ["Wrong password."]})
        attempt.succeeded()
        keep = _refresh_token_of(user, data["refresh"]).get("jti") if data.get("refresh") else None
        try:
            password_change(user=user, new_password=data["new_password"], keep_jti=keep)
        except DjangoValidationError as error:
            raise validation_error({"new_password": list(error.messages)}) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetView(AuthView):
    rate_limits = (ip_budget("password-reset-ip", "RATE_LIMIT_PASSWORD_RESET_PER_IP"),)

    @extend_schema(
        request=PasswordResetSerializer,
        responses={202: OpenApiResponse(description="Accepted, whether or not the email has an account.")},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = _validated(PasswordResetSerializer, request)
        password_reset_request(email=data["email"])
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmView(AuthView):
    @extend_schema(
        request=PasswordResetConfirmSerializer,
        responses={204: OpenApiResponse(description="Password set; every session revoked.")},
        tags=["auth"],
    )
    def post(self, request: Request) -> Response:
        data = _validated(PasswordResetConfirmSerializer, request)
        user = password_reset_user(token=data["token"])
        if user is None:
            raise validation_error({"token": ["Invalid, expired or already used reset token."]})
        try:
            password_reset_complete(user=user, new_password=data["new_password"])
        except DjangoValidationError as error:
            raise validation_error({"new_password": list(error.messages)}) from error
        return Response(status=status.HTTP_204_NO_CONTENT)


def _session_only(request: Request) -> None:
    """Keys are managed with a login session: a key cannot mint or revoke keys."""
    if isinstance(request.auth, ApiKey):
        raise PermissionDenied("API keys are managed with a login session, not with an API key.")


class ApiKeyListView(mixins.ListModelMixin, generics.GenericAPIView):
    """The caller's own keys only, newest first, cursor-paginated like every list."""

    permission_classes = [IsAuthenticated]
    serializer_class = ApiKeySerializer
    ordering_fields = ("created_at",)
    default_ordering = "-created_at"

    def get_queryset(self) -> QuerySet[ApiKey]:
        user = self.request.user
        if not isinstance(user, User):  # schema generation
            return ApiKey.objects.none()
        return ApiKey.objects.filter(user=user)

    @extend_schema(tags=["api keys"])
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(request=ApiKeySerializer, responses={201: ApiKeyCreatedSerializer}, tags=["api keys"])
    def post(self, request: Request) -> Response:
        _session_only(request)
        data = _validated(ApiKeySerializer, request)
        api_key, secret = api_key_create(
            user=_user(request), name=data["name"], scopes=data["scopes"], expires_at=data.get("expires_at")
        )
        body = {**ApiKeySerializer(api_key).data, "key": secret}
        return Response(body, status=status.HTTP_201_CREATED)


class ApiKeyDetailView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(responses={204: OpenApiResponse(description="Revoked.")}, tags=["api keys"])
    def delete(self, request: Request, key_id: str) -> Response:
        _session_only(request)
        api_key = get_object_or_404(ApiKey, pk=key_id, user=_user(request))
        api_key_revoke(api_key=api_key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class UserView(APIView):
    permission_classes = [IsAuthenticated]
    schema = BodyOnDeleteAutoSchema()

    @extend_schema(
        request=AccountDeleteSerializer,
        responses={204: OpenApiResponse(description="The account and everything it owned are deleted.")},
        tags=["user"],
        description="Deletes the account and everything it owns. A wrong password is 400 validation_error.",
    )
    def delete(self, request: Request) -> Response:
        data = _validated(AccountDeleteSerializer, request)
        user = _user(request)
        attempt = login_limits.login_attempt(request, User.objects.normalize_email(user.email))
        try:
            account_delete(user=user, password=data["password"])
        except DRFValidationError:  # the password was wrong
            attempt.confirmation_failed()
            raise
        attempt.succeeded()
        return Response(status=status.HTTP_204_NO_CONTENT)
