"""The one router of API v1 (docs/architecture.md, Layout). Paths have no trailing slash
(docs/api/README.md)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts import passkey_views, profile_views
from accounts import views as accounts_views
from antitodo import views as antitodo_views
from calendars import views as calendars_views
from focus import views as focus_views
from insights import views as insights_views
from lists import views as lists_views
from live import views as live_views
from portability import views as portability_views
from reminders import views as reminders_views
from search import views as search_views
from sync import views as sync_views
from webhooks import views as webhooks_views
from workspaces import views as workspaces_views

router = SimpleRouter(trailing_slash=False)
router.register("lists", lists_views.ListViewSet, basename="list")
router.register("items", lists_views.ItemViewSet, basename="item")
router.register("anti-todo", antitodo_views.AntiTodoViewSet, basename="anti-todo")
router.register("workspaces", workspaces_views.WorkspaceViewSet, basename="workspace")
router.register("reminders", reminders_views.ReminderViewSet, basename="reminder")
router.register("notifications", reminders_views.NotificationViewSet, basename="notification")

urlpatterns = [
    path("auth/register", accounts_views.RegisterView.as_view(), name="auth-register"),
    path("auth/token", accounts_views.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh", accounts_views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout", accounts_views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all", accounts_views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/password/change", accounts_views.PasswordChangeView.as_view(), name="auth-password-change"),
    path("user/export", portability_views.ExportView.as_view(), name="user-export"),
    path("user/import", portability_views.ImportView.as_view(), name="user-import"),
    path("user/profile", profile_views.ProfileView.as_view(), name="user-profile"),
    path("user/insights", insights_views.InsightsView.as_view(), name="user-insights"),
    path("focus-card", focus_views.FocusCardView.as_view(), name="focus-card"),
    path("focus-card/generate", focus_views.FocusCardGenerateView.as_view(), name="focus-card-generate"),
    path("focus-cards", focus_views.FocusCardRangeView.as_view(), name="focus-cards"),
    path("agenda", lists_views.AgendaView.as_view(), name="agenda"),
    path("auth/password/reset", accounts_views.PasswordResetView.as_view(), name="auth-password-reset"),
    path(
        "auth/password/reset/confirm",
        accounts_views.PasswordResetConfirmView.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("user/api-keys", accounts_views.ApiKeyListView.as_view(), name="api-keys"),
    path("user/api-keys/<uuid:key_id>", accounts_views.ApiKeyDetailView.as_view(), name="api-key-detail"),
    path(
        "auth/passkeys/register/begin",
        passkey_views.PasskeyRegisterBeginView.as_view(),
        name="auth-passkeys-register-begin",
    ),
    path(
        "auth/passkeys/register/finish",
        passkey_views.PasskeyRegisterFinishView.as_view(),
        name="auth-passkeys-register-finish",
    ),
    path(
        "auth/passkeys/login/begin",
        passkey_views.PasskeyLoginBeginView.as_view(),
        name="auth-passkeys-login-begin",
    ),
    path(
        "auth/passkeys/login/finish",
        passkey_views.PasskeyLoginFinishView.as_view(),
        name="auth-passkeys-login-finish",
    ),
    path("user/passkeys", passkey_views.PasskeyListView.as_view(), name="passkeys"),
    path("user/passkeys/<uuid:passkey_id>", passkey_views.PasskeyDetailView.as_view(), name="passkey-detail"),
    path("user", accounts_views.UserView.as_view(), name="user"),
    path("user/calendar-feeds", calendars_views.CalendarFeedListView.as_view(), name="calendar-feeds"),
    path(
        "user/calendar-feeds/<uuid:feed_id>",
        calendars_views.CalendarFeedDetailView.as_view(),
        name="calendar-feed-detail",
    ),
    path("user/webhooks", webhooks_views.WebhookListView.as_view(), name="webhooks"),
    path(
        "user/webhooks/<uuid:webhook_id>", webhooks_views.WebhookDetailView.as_view(), name="webhook-detail"
    ),
    path(
        "user/webhooks/<uuid:webhook_id>/deliveries",
        webhooks_views.DeliveryListView.as_view(),
        name="webhook-deliveries",
    ),
    path(
        "user/webhooks/<uuid:webhook_id>/deliveries/<uuid:delivery_id>/redeliver",
        webhooks_views.RedeliverView.as_view(),
        name="webhook-redeliver",
    ),
    path("user/webhooks/<uuid:webhook_id>/test", webhooks_views.TestView.as_view(), name="webhook-test"),
    path("sync", sync_views.SyncView.as_view(), name="sync"),
    path("stream/ticket", live_views.StreamTicketView.as_view(), name="stream-ticket"),
    path("stream", live_views.stream_without_upgrade, name="stream-without-upgrade"),
    path("search", search_views.SearchView.as_view(), name="search"),
    path(
        "workspaces/<uuid:workspace_id>/members",
        workspaces_views.MemberListView.as_view(),
        name="workspace-members",
    ),
    path(
        "workspaces/<uuid:workspace_id>/members/<uuid:user_id>",
        workspaces_views.MemberDetailView.as_view(),
        name="workspace-member",
    ),
    path(
        "workspaces/<uuid:workspace_id>/invitations",
        workspaces_views.InvitationListView.as_view(),
        name="workspace-invitations",
    ),
    path(
        "workspaces/<uuid:workspace_id>/invitations/<uuid:invitation_id>",
        workspaces_views.InvitationDetailView.as_view(),
        name="workspace-invitation",
    ),
    path(
        "workspaces/<uuid:workspace_id>/activity",
        workspaces_views.ActivityView.as_view(),
        name="workspace-activity",
    ),
    path("user/invitations", workspaces_views.UserInvitationListView.as_view(), name="user-invitations"),
    path(
        "user/invitations/<uuid:invitation_id>/accept",
        workspaces_views.UserInvitationAcceptView.as_view(),
        name="user-invitation-accept",
    ),
    path(
        "user/invitations/<uuid:invitation_id>/decline",
        workspaces_views.UserInvitationDeclineView.as_view(),
        name="user-invitation-decline",
    ),
    path(
        "invitations/accept",
        workspaces_views.InvitationAcceptByTokenView.as_view(),
        name="invitation-accept",
    ),
    *router.urls,
]
