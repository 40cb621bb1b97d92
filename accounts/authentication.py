from __future__ import annotations

import threading
import time
from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import get_authorization_header
from rest_framework.request import Request
from rest_framework_simplejwt import authentication
from rest_framework_simplejwt.exceptions import AuthenticationFailed, InvalidToken
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import Token

from accounts.models import ApiKey
from accounts.services.api_keys import api_key_authenticate
from accounts.services.sessions import token_user_id
from accounts.user_cache import GENERATION_CLAIM, cache_read, cached_user, password_md5
from core.authentication import OncePerRequest
from core.context import user_id_var
from core.ratelimit import refund_in_advance, spend_in_advance, user_key

# Access tokens this process has verified, by their exact bytes: {token: (its expiry, the validated
# token)}. Its signature, algorithm, audience, issuer, type and claims are properties of those bytes, so a
# token seen again needs only its expiry checked again: verifying one costs about 0.1 to 0.2 ms of CPU
# (PyJWT's decoding and HMAC, simplejwt's checks), on every request of a client that sends it for
# minutes. What can change meanwhile is the user (gone, inactive, password changed, tokens revoked): that
# is checked on every request, in `get_user`, against the user as it is now.
VERIFIED_TOKENS_KEPT = 4096
_verified: dict[bytes, tuple[float, Token]] = {}
_verified_lock = threading.Lock()


class JWTAuthentication(OncePerRequest, authentication.JWTAuthentication):
    """simplejwt's bearer authentication (signature, algorithm, issuer, audience, active user), once per
    request, plus the user id in the log context."""

    request: Request | None = None

    def get_validated_token(self, raw_token: bytes) -> Token:
        """simplejwt's validation, once per token and process (`_verified` above): a token seen before is
        used again until its expiry, which simplejwt and PyJWT both read as "valid while now < exp"."""
        kept = _verified.get(raw_token)
        if kept is not None:
            if time.time() < kept[0]:
                return kept[1]
            with _verified_lock:  # every change under the lock: the eviction below iterates
                _verified.pop(raw_token, None)  # expired: simplejwt refuses it below, with its own answer
        token = authentication.JWTAuthentication.get_validated_token(self, raw_token)
        expiry = token.get("exp")
        if type(expiry) in (int, float):  # always, for a token that passed simplejwt's checks
            with _verified_lock:
                _verified.pop(raw_token, None)  # kept meanwhile by another thread: to the end, as new
                while len(_verified) >= VERIFIED_TOKENS_KEPT:
                    del _verified[next(iter(_verified))]  # the oldest
                _verified[raw_token] = (expiry, token)
        return token

    def authenticate_once(self, request: Request) -> tuple[Any, Any] | None:
        self.request = request  # for get_user, which simplejwt calls with the token alone
        result = authentication.JWTAuthentication.authenticate(self, request)
        if result is not None:
            user_id_var.set(str(result[0].pk))
        return result

    def get_user(self, validated_token: Token) -> Any:
        """The cached user row (accounts/user_cache.py), read in the same round trip as the rate limit's
        count when the view spends the default budget alone (core.ratelimit.spend_in_advance: one Redis
        round trip a request instead of two)."""
        # simplejwt looks the user up by `sub` as it is: one that is no UUID would fail in the database.
        user_id = token_user_id(validated_token)
        if user_id is None:
            raise InvalidToken("Token contained no recognizable user identification")
        request = self.request
        found = (
            None if request is None else spend_in_advance(request, user_key(user_id), [cache_read(user_id)])
        )
        try:
            user = cached_user(user_id) if found is None else cached_user(user_id, found[0])
            return self._checked(validated_token, user)
        except AuthenticationFailed:
            if request is not None:
                refund_in_advance(request)
            raise

    @staticmethod
    def _checked(validated_token: Token, user: Any) -> Any:
        """simplejwt's checks (the user exists and is active, the password is the one the token was issued
        under), plus the token generation."""
        if user is None:
            raise AuthenticationFailed("User not found", code="user_not_found")
        if not user.is_active:
            raise AuthenticationFailed("User is inactive", code="user_inactive")
        if validated_token.get(api_settings.REVOKE_TOKEN_CLAIM) != password_md5(user):
            raise AuthenticationFailed("The user's password has been changed.", code="password_changed")
        # Tokens issued before generations existed carry none: they count as the first.
        if validated_token.get(GENERATION_CLAIM, 0) != user.token_generation:
            raise AuthenticationFailed("The token has been revoked.", code="token_revoked")
        return user


class ApiKeyAuthentication(OncePerRequest):
    """`Authorization: Api-Key <key>`, once per request. `request.auth` is the ApiKey. A read-only key is
    refused (403) on any unsafe method here, so no view can forget the check."""

    keyword = "Api-Key"
    SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

    def authenticate_once(self, request: Request) -> tuple[Any, ApiKey] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != self.keyword.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed("Malformed Api-Key header: expected `Api-Key <key>`.")
        try:
            key = parts[1].decode("ascii")
        except UnicodeDecodeError as error:
            raise exceptions.AuthenticationFailed("Invalid API key.") from error
        api_key = api_key_authenticate(key=key)
        if api_key is None:
            raise exceptions.AuthenticationFailed("Invalid, expired or revoked API key.")
        if request.method not in self.SAFE_METHODS and not api_key.can_write:
            raise exceptions.PermissionDenied("This API key is read-only.")
        user_id_var.set(str(api_key.user_id))
        return api_key.user, api_key

    def authenticate_header(self, request: Request) -> str:
        return f'{self.keyword} realm="api"'
