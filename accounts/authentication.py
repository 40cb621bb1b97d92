from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework_simplejwt import authentication

from core.context import user_id_var


class JWTAuthentication(authentication.JWTAuthentication):
    """simplejwt's bearer authentication (signature, algorithm, issuer, audience, active user), plus the
    user id in the log context."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is not None:
            user_id_var.set(str(result[0].pk))
        return result
