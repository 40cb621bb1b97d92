"""The staff back office for accounts: users, API keys and the (read-only) audit log.

Every write goes through accounts.services, so the admin revokes, deactivates and creates exactly as the
API does, audit log included."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest
from rest_framework_simplejwt.token_blacklist import admin as _  # noqa: F401  (registers its pages)
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.admin_forms import StaffSetPasswordForm, acting_staff
from accounts.models import ApiKey, AuditEvent, Passkey, Session, User
from accounts.services.api_keys import api_key_change, api_key_create, api_key_revoke
from accounts.services.passkeys import passkey_delete
from accounts.services.sessions import session_revoke_by_staff, session_revoke_everywhere
from accounts.services.users import user_change, user_create_by_staff, user_deactivate
from core.admin import ReadOnlyAdmin


class UserCreationForm(auth_forms.AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class UserChangeForm(auth_forms.UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


def _staff(request: HttpRequest) -> User:
    assert isinstance(request.user, User)
    return request.user


# An API key as staff see it, on the user's page and on its own; none of it is edited after creation
# except `is_admin` (and the name, on the key's page).
KEY_READ_ONLY_FIELDS = ("prefix", "scopes", "expires_at", "last_used_at", "created_at", "revoked_at")
KEY_FIELDS = (
    "name",
    "prefix",
    "scopes",
    "is_admin",
    "expires_at",
    "last_used_at",
    "created_at",
    "revoked_at",
)


class ApiKeyInline(admin.TabularInline):
    """The user's keys at a glance; keys are created on the API key page, which shows the secret once."""

    model = ApiKey
    extra = 0
    can_delete = False
    show_change_link = True
    fields = KEY_FIELDS
    readonly_fields = ("name", *KEY_READ_ONLY_FIELDS)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


PASSKEY_FIELDS = ("name", "created_at", "last_used_at", "sign_count", "backed_up", "aaguid", "transports")


class PasskeyInline(admin.TabularInline):
    """The user's passkeys at a glance; users add and rename them, staff only delete (a lost device) from
    the passkey page, through the service (audited)."""

    model = Passkey
    extra = 0
    can_delete = False
    show_change_link = True
    fields = PASSKEY_FIELDS
    readonly_fields = PASSKEY_FIELDS

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = StaffSetPasswordForm
    ordering = ("-date_joined",)
    list_display = ("email", "display_name", "timezone", "is_active", "is_staff", "date_joined", "last_login")
    list_filter = ("is_active", "is_staff", "is_superuser", "date_joined")
    search_fields = ("email", "display_name")
    readonly_fields = ("id", "date_joined", "last_login")
    fieldsets = (
        (None, {"fields": ("id", "email", "password")}),
        ("Profile", {"fields": ("display_name", "timezone")}),
        ("Permissions", {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        ("Dates", {"fields": ("date_joined", "last_login")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    inlines = (ApiKeyInline, PasskeyInline)
    actions = ("deactivate", "revoke_all_sessions")

    def get_inlines(self, request: HttpRequest, obj: Any) -> Any:
        # A user being created has no passkeys: the add page shows (and posts) the API keys' formset only.
        return self.inlines if obj is not None else (ApiKeyInline,)

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        """Through accounts.services: a profile field moves the profile's version and reaches clients by
        sync, `is_active` deactivates (sessions revoked) or activates, and every change is audited."""
        if not change:
            user_create_by_staff(user=obj, by_staff=_staff(request))
            return
        row_fields = {field.name for field in User._meta.concrete_fields}
        changed = [name for name in form.changed_data if name in row_fields]
        data = {name: form.cleaned_data[name] for name in changed}
        obj.refresh_from_db(fields=changed)  # the form wrote its values onto obj; the service writes them
        others = [name for name in form.changed_data if name not in row_fields]
        stored = user_change(user=obj, by_staff=_staff(request), data=data, other_fields=others)
        for name in changed:
            setattr(obj, name, getattr(stored, name))

    def save_formset(self, request: HttpRequest, form: Any, formset: BaseInlineFormSet, change: bool) -> None:
        """The API keys inline: a changed admin flag goes through accounts.services (audited)."""
        if formset.model is not ApiKey:
            super().save_formset(request, form, formset, change)
            return
        changed = [f for f in formset.forms if f.instance.pk is not None and f.has_changed()]
        for key_form in changed:
            key = key_form.instance
            api_key_change(api_key=key, by_staff=_staff(request), name=key.name, is_admin=key.is_admin)
        # What Django's own save would report, for the admin's change message.
        formset.new_objects, formset.deleted_objects = [], []
        formset.changed_objects = [(f.instance, f.changed_data) for f in changed]

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> Any:
        """Django's view; its form sets the password through accounts.services on behalf of this staff
        member (sessions revoked, audited)."""
        token = acting_staff.set(_staff(request))
        try:
            return super().user_change_password(request, id, form_url)
        finally:
            acting_staff.reset(token)

    @admin.action(
        description="Deactivate (no login, no refresh, no API key) and revoke sessions",
        permissions=["change"],
    )
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        targets, skipped = _actionable(request, queryset)
        for user in targets:
            user_deactivate(user=user, by_staff=_staff(request))
        self.message_user(request, f"Deactivated {len(targets)} user(s).", messages.SUCCESS)
        _report_skipped(self, request, skipped)

    @admin.action(description="Revoke all sessions (refresh tokens)", permissions=["change"])
    def revoke_all_sessions(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        targets, skipped = _actionable(request, queryset)
        total = sum(session_revoke_everywhere(user=u, by_staff=_staff(request)) for u in targets)
        self.message_user(request, f"Revoked {total} session(s).", messages.SUCCESS)
        _report_skipped(self, request, skipped)


def _actionable(request: HttpRequest, queryset: QuerySet[User]) -> tuple[list[User], int]:
    """The selected users a bulk action may act on: never the staff member themself, and a superuser's
    account only when a superuser acts (a staff member who may change users must not lock out the people
    who grant permissions)."""
    staff = _staff(request)
    selected = list(queryset)
    targets = [u for u in selected if u.pk != staff.pk and (staff.is_superuser or not u.is_superuser)]
    return targets, len(selected) - len(targets)


def _report_skipped(model_admin: admin.ModelAdmin, request: HttpRequest, skipped: int) -> None:
    if skipped:
        model_admin.message_user(
            request, f"Left {skipped} account(s) alone: your own, or a superuser's.", messages.WARNING
        )


class ApiKeyAddForm(forms.ModelForm):
    scopes = forms.ChoiceField(
        choices=[("read", "read"), ("read,write", "read and write")], initial="read,write"
    )

    class Meta:
        model = ApiKey
        fields = ("user", "name", "scopes", "is_admin", "expires_at")


class RevokedFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("active", "active"), ("revoked", "revoked")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> QuerySet[ApiKey]:
        if self.value() == "active":
            return queryset.filter(revoked_at__isnull=True)
        if self.value() == "revoked":
            return queryset.filter(revoked_at__isnull=False)
        return queryset


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "prefix",
        "user",
        "scopes",
        "is_admin",
        "expires_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = (RevokedFilter, "is_admin", "created_at")
    search_fields = ("name", "prefix", "user__email")
    list_select_related = ("user",)
    autocomplete_fields = ("user",)
    actions = ("revoke",)
    readonly_fields = ("user", *KEY_READ_ONLY_FIELDS)
    fields = ("user", *KEY_FIELDS)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = ApiKeyAddForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ApiKeyAddForm.Meta.fields if obj is None else self.fields

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else self.readonly_fields

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # keys are revoked, never deleted: the audit trail points at them

    def save_model(self, request: HttpRequest, obj: ApiKey, form: Any, change: bool) -> None:
        if change:
            api_key_change(api_key=obj, by_staff=_staff(request), name=obj.name, is_admin=obj.is_admin)
            return
        api_key, secret = api_key_create(
            user=form.cleaned_data["user"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"].split(","),
            expires_at=form.cleaned_data.get("expires_at"),
            is_admin=form.cleaned_data.get("is_admin", False),
            by_staff=_staff(request),
        )
        obj.pk, obj.prefix, obj._state.adding = api_key.pk, api_key.prefix, False
        messages.warning(request, f"The key, shown only now; copy it, it cannot be shown again: {secret}")

    @admin.action(description="Revoke the selected keys", permissions=["change"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiKey]) -> None:
        for api_key in queryset:
            api_key_revoke(api_key=api_key, by_staff=_staff(request))
        self.message_user(request, f"Revoked {len(queryset)} key(s).", messages.SUCCESS)


@admin.register(Passkey)
class PasskeyAdmin(ReadOnlyAdmin):
    """Passkeys without anything secret (there is none: the public key is public, and not shown). Staff
    delete one through accounts.services (audited); nobody adds or edits one here."""

    list_display = ("name", "user", "created_at", "last_used_at", "sign_count", "backed_up")
    list_filter = ("backed_up", "created_at", "last_used_at")
    search_fields = ("name", "user__email")
    list_select_related = ("user",)
    fields = ("id", "user", *PASSKEY_FIELDS)
    readonly_fields = fields
    actions = ("delete_passkeys",)

    @admin.action(description="Delete the selected passkeys (they stop logging in)", permissions=["act"])
    def delete_passkeys(self, request: HttpRequest, queryset: QuerySet[Passkey]) -> None:
        passkeys = list(queryset.select_related("user"))
        for passkey in passkeys:
            passkey_delete(user=passkey.user, passkey=passkey, by_staff=_staff(request))
        self.message_user(request, f"Deleted {len(passkeys)} passkey(s).", messages.SUCCESS)


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdmin):
    """Read-only for everyone, superusers included: the log is append-only."""

    list_display = ("created_at", "event", "email", "ip", "target_type", "target_id", "request_id")
    list_filter = ("event", "created_at")
    date_hierarchy = "created_at"
    search_fields = ("email", "user__email", "=ip", "=request_id")
    list_select_related = ("user",)
    actions = None
    readonly_fields = [field.name for field in AuditEvent._meta.fields]


# simplejwt's own pages (imported above, so they are registered before they are taken down) show each
# refresh token in full; staff see sessions instead.
admin.site.unregister(OutstandingToken)
admin.site.unregister(BlacklistedToken)


@admin.register(Session)
class SessionAdmin(ReadOnlyAdmin):
    """Sessions (refresh tokens) without their secret: the token is neither shown nor kept. Revoking goes
    through accounts.services and is audited."""

    list_display = ("id", "user", "created_at", "expires_at", "revoked_at")
    list_filter = ("created_at", "expires_at")
    search_fields = ("user__email", "=jti")
    list_select_related = ("user", "blacklistedtoken")
    fields = ("id", "user", "jti", "created_at", "expires_at", "revoked_at")
    readonly_fields = fields
    actions = ("revoke",)

    @admin.display(description="revoked at")
    def revoked_at(self, obj: Session) -> Any:
        blacklisted = getattr(obj, "blacklistedtoken", None)
        return blacklisted.blacklisted_at if blacklisted else None

    @admin.action(description="Revoke the selected sessions", permissions=["act"])
    def revoke(self, request: HttpRequest, queryset: QuerySet[Session]) -> None:
        revoked = sum(session_revoke_by_staff(session=s, by_staff=_staff(request)) for s in queryset)
        self.message_user(request, f"Revoked {revoked} session(s).", messages.SUCCESS)
