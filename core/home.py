"""The page at `/`: where a developer who opened http://127.0.0.1:8000/ finds the API docs, the admin and
the health endpoints, instead of a debug 404. Plain HTML under the app's CSP (no script, no CDN)."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe


@require_safe
def home(request: HttpRequest) -> HttpResponse:
    # The demo user's email helps locally; a production page names no account.
    context = {"demo_email": settings.DEMO_USER_EMAIL if settings.DEBUG else None}
    return render(request, "core/home.html", context)
