"""`manage.py changepassword`: Django's command, setting the password through accounts.services so every
session of the user is revoked and the change is audited."""

from __future__ import annotations

import getpass
from typing import Any

from django.contrib.auth.management.commands import changepassword
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from accounts.models import User
from accounts.services.passwords import password_set

MAX_TRIES = 3


class Command(changepassword.Command):
    help = "Change a user's password; every session (refresh token) of the user is revoked."

    def handle(self, *args: Any, **options: Any) -> str:
        email = options["username"] or getpass.getuser()
        user = User._default_manager.using(options["database"]).filter(email=email).first()
        if user is None:
            raise CommandError(f"user '{email}' does not exist")
        self.stdout.write(f"Changing password for user '{user}'")
        for _attempt in range(MAX_TRIES):
            first = self._get_pass()  # type: ignore[attr-defined]
            second = self._get_pass("Password (again): ")  # type: ignore[attr-defined]
            if first != second:
                self.stdout.write("Passwords do not match. Please try again.")
                continue
            try:
                validate_password(second, user)
            except ValidationError as error:
                self.stderr.write("\n".join(error.messages))
                continue
            revoked = password_set(user=user, password=first, by=None, via="changepassword")
            return f"Password changed successfully for user '{user}'; {revoked} session(s) revoked."
        raise CommandError(f"Aborting password change for user '{user}' after {MAX_TRIES} attempts")
