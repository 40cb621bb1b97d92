from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

from calendars.views import calendar_feed
from core import health, home, metrics

urlpatterns = [
    path("", home.home, name="home"),
    path("health", health.health, name="health"),
    path("ready", health.ready, name="ready"),
    path("metrics", metrics.metrics, name="metrics"),
    # The token is the only credential a calendar app can send (docs/api/calendar-feeds.md).
    # Any name under calendar/ ending .ics is the feed view's to answer (an empty one too: its own 404).
    re_path(r"^calendar/(?P<token>[^/]*)\.ics$", calendar_feed, name="calendar-feed"),
    path("api/v1/", include(("config.api_v1", "v1"), namespace="v1")),
    path("api/schema", SpectacularAPIView.as_view(), name="schema"),
    # The split view and our Redoc template have no inline script, so the docs work under the CSP.
    path("api/docs", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
    path(
        "api/redoc",
        SpectacularRedocView.as_view(url_name="schema", template_name="core/redoc.html"),
        name="redoc",
    ),
    path("admin/", admin.site.urls),
]

# Django's own 400 (an unknown Host header, raised before our middleware runs) is a problem under /api/.
handler400 = "core.problems.bad_request"

# A database outage in middleware is a 503 problem under /api/ too (core/problems.py).
handler500 = "core.problems.server_error"
