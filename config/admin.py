"""The admin site: Django's, with its own-password form handing over to accounts.services. Loaded before
the app registry is ready, so it imports no models at module level."""

from __future__ import annotations

from typing import Any, cast

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse


class DaymarkAdminSite(admin.AdminSite):
    site_header = "Daymark back office"
    site_title = "Daymark"
    index_title = "Users, their data, and the service"

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
