"""The one router of API v1 (DESIGN, Layout). Paths have no trailing slash (API.md section 1)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from accounts import views as accounts_views
from lists import views as lists_views
from sync import views as sync_views

router = SimpleRouter(trailing_slash=False)
router.register("lists", lists_views.ListViewSet, basename="list")
router.register("items", lists_views.ItemViewSet, basename="item")

urlpatterns = [
    path("auth/register", accounts_views.RegisterView.as_view(), name="auth-register"),
    path("auth/token", accounts_views.TokenView.as_view(), name="auth-token"),
    path("auth/token/refresh", accounts_views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("auth/logout", accounts_views.LogoutView.as_view(), name="auth-logout"),
    path("auth/logout-all", accounts_views.LogoutAllView.as_view(), name="auth-logout-all"),
    path("auth/password/change", accounts_views.PasswordChangeView.as_view(), name="auth-password-change"),
    path("sync", sync_views.SyncView.as_view(), name="sync"),
    *router.urls,
]
