"""The admin site: Django's, with its own-password form handing over to accounts.services. Loaded before
the app registry is ready, so it imports no models at module level."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import URLPattern, URLResolver, path, reverse


class DaymarkAdminSite(admin.AdminSite):
    site_header = "Daymark back office"
    site_title = "Daymark"
    index_title = "Users, their data, and the service"
    # The usage dashboard above the list of models, for staff who may see it (backoffice/).
    index_template = "backoffice/index.html"

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> TemplateResponse:
        from backoffice.views import dashboard_context  # needs the app registry

        return super().index(request, {**dashboard_context(request), **(extra_context or {})})

    def get_urls(self) -> list[URLResolver | URLPattern]:
        """The back office's pages (backoffice.views), behind the admin's login and staff check."""
        from backoffice import views  # needs the app registry

        wrap = self.admin_view
        user = "backoffice/users/<uuid:user_id>/"
        return [
            path("backoffice/health/", wrap(views.health_view), name="backoffice-health"),
            path("backoffice/users/", wrap(views.user_search), name="backoffice-user-search"),
            path(user, wrap(views.user_page), name="backoffice-user"),
            path(
                f"{user}keys/<uuid:key_id>/revoke/", wrap(views.revoke_api_key), name="backoffice-revoke-key"
            ),
            path(
                f"{user}workspaces/<uuid:workspace_id>/remove/",
                wrap(views.remove_member),
                name="backoffice-remove-member",
            ),
            path(f"{user}<slug:action>/", wrap(views.user_action), name="backoffice-user-action"),
            *super().get_urls(),
        ]

    def password_change(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> TemplateResponse:
        """Django's view with a form that revokes the staff member's API sessions and audits the change."""
        from django.contrib.auth.views import PasswordChangeView  # needs the app registry

        from accounts.admin_forms import OwnPasswordChangeForm

        request.current_app = self.name
        view = PasswordChangeView.as_view(
            form_class=OwnPasswordChangeForm,
            success_url=reverse("admin:password_change_done", current_app=self.name),
            extra_context={**self.each_context(request), **(extra_context or {})},
            **({"template_name": self.password_change_template} if self.password_change_template else {}),
        )
        return cast(TemplateResponse, view(request))  # a redirect on success, as Django's own view


class DaymarkAdminConfig(AdminConfig):
    default_site = "config.admin.DaymarkAdminSite"
