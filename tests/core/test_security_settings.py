"""Hardened settings: security headers, CSP, CORS allow-list, and a clean `check --deploy`."""

from __future__ import annotations

import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]


def _production_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "REDIS_"))}
    env.update(
        DJANGO_SECURE="true",
        DJANGO_DEBUG="false",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(64),
        JWT_SIGNING_KEY=secrets.token_urlsafe(64),
        DJANGO_ALLOWED_HOSTS="api.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://api.example.com",
        CORS_ALLOWED_ORIGINS="https://app.example.com",
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        PASSKEYS_RP_ID="example.com",
        PASSKEYS_ORIGINS="https://app.example.com",
    )
    env.update(extra)
    return env


def test_check_deploy_is_clean_in_a_production_like_environment() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=_production_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize("backend", ["console", "filebased"])
def test_check_deploy_fails_on_development_mail_when_debug_is_off(backend: str) -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy"],
        cwd=ROOT,
        env=_production_env(EMAIL_BACKEND=f"django.core.mail.backends.{backend}.EmailBackend"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "accounts.E001" in result.stderr


def test_a_wildcard_cors_origin_is_refused_at_startup() -> None:
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=_production_env(CORS_ALLOWED_ORIGINS="*"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert "CORS_ALLOWED_ORIGINS" in result.stderr


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/api/docs", "/api/redoc"])
def test_html_pages_get_a_same_origin_csp_without_inline_script(path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "unsafe-eval" not in csp
    assert "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    html = response.content.decode()
    inline_scripts = [tag for tag in re.findall(r"<script[^>]*>", html) if "src=" not in tag]
    assert inline_scripts == []
    assert "https://" not in " ".join(re.findall(r'(?:src|href)="[^"]*"', html))  # no CDN


@pytest.mark.django_db
def test_the_swagger_init_script_is_served_by_the_app() -> None:
    response = Client().get("/api/docs?script=")
    assert response.status_code == 200
    assert "SwaggerUIBundle" in response.content.decode()


@pytest.mark.django_db
def test_api_answers_carry_the_security_headers(user_client: Any) -> None:
    response = user_client.get("/api/v1/lists")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


@pytest.mark.django_db
def test_cors_answers_only_allowed_origins_and_never_with_credentials(
    user_client: Any, settings: Any
) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]
    allowed = user_client.get("/api/v1/lists", HTTP_ORIGIN="https://app.example.com")
    assert allowed["Access-Control-Allow-Origin"] == "https://app.example.com"
    assert "Access-Control-Allow-Credentials" not in allowed
    assert "RateLimit" in allowed["Access-Control-Expose-Headers"]
    other = user_client.get("/api/v1/lists", HTTP_ORIGIN="https://evil.example.com")
    assert "Access-Control-Allow-Origin" not in other
