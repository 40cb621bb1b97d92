"""Content-Security-Policy (Django 5.2 has none built in).

The root page, the admin and the API docs are the only HTML the app serves: they may load scripts, styles,
images and fonts from this origin only (no CDN). Styles may be inline because Swagger UI, Redoc
(styled-components), the admin and the root page set them; no inline script is allowed anywhere. Every
other answer (JSON) gets a policy that allows nothing, so a response rendered by mistake as HTML runs
nothing.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

HTML_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "worker-src 'self' blob:",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
API_POLICY = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if "Content-Security-Policy" not in response:
            path = request.path
            html = path in settings.CSP_HTML_PATHS or path.startswith(settings.CSP_HTML_PATH_PREFIXES)
            response["Content-Security-Policy"] = HTML_POLICY if html else API_POLICY
        return response
