"""The back office's password forms: each hands the new password to
`accounts.services.passwords.password_set`, so a password set in the admin revokes the user's sessions and
is audited like one changed through the API."""

from __future__ import annotations

from contextvars import ContextVar
from typing import Any

from django.contrib.admin.forms import AdminPasswordChangeForm as OwnPasswordChangeBase
from django.contrib.auth import forms as auth_forms

from accounts.models import User
from accounts.services.passwords import password_set

# The staff member on whose request a user's password form runs; set by UserAdmin.user_change_password,
# because Django's view builds the form from the edited user alone.
acting_staff: ContextVar[User | None] = ContextVar("acting_staff", default=None)


class StaffSetPasswordForm(auth_forms.AdminPasswordChangeForm):
    """Staff set (or disable) another user's password: /admin/accounts/user/<id>/password/."""

    def save(self, commit: bool = True) -> Any:
        usable = self.cleaned_data.get("set_usable_password", True)
        password = self.cleaned_data["password1"] if usable else None
        password_set(user=self.user, password=password, by=acting_staff.get(), via="admin")
        return self.user


class OwnPasswordChangeForm(OwnPasswordChangeBase):
    """A staff member changes their own password: /admin/password_change/."""

    def save(self, commit: bool = True) -> Any:
        password_set(user=self.user, password=self.cleaned_data["new_password1"], by=self.user, via="admin")
        return self.user
