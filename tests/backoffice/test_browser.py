"""The back office in a real headless Chromium against the live server: the dashboard draws its charts
from seeded activity, the health panel renders, each staff action works end to end and leaves its audit
event, and staff without the permission (or non-staff) are refused. The staff members here are not
superusers: they hold exactly the permissions each page needs."""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any, cast

import pytest

from accounts.models import ApiKey, AuditEvent, User
from accounts.services.api_keys import api_key_create
from backoffice import health
from tests.accounts.test_admin_browser import CHROMEDRIVER, CHROMIUM, _csp_violations, _log_in, browser
from tests.backoffice.conftest import ALL_BACKOFFICE, staff_with
from tests.backoffice.test_dashboard import seed_activity
from tests.conftest import LIVE_SERVERS, client_for
from tests.factories import MemberFactory, UserFactory, WorkspaceFactory
from workspaces.models import Member

__all__ = ["browser"]  # the fixture, used by name

pytestmark = [
    pytest.mark.browser,
    LIVE_SERVERS,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="no chromium/chromedriver installed"),
]

Event = AuditEvent.Event
# Where the screenshots go when BACKOFFICE_SCREENSHOTS names a directory (for the docs and reviews).
SCREENSHOTS = os.environ.get("BACKOFFICE_SCREENSHOTS", "")


def _shoot(browser: Any, name: str) -> None:
    if SCREENSHOTS:
        browser.save_screenshot(os.path.join(SCREENSHOTS, f"{name}.png"))


def _logged_in(browser: Any, base: str, email: str) -> None:
    """Logs in and waits for the admin's answer, so the next page is not raced by the login's redirect."""
    from selenium.webdriver.support.ui import WebDriverWait

    _log_in(browser, base, email)
    WebDriverWait(browser, 20).until(lambda driver: "/admin/login/" not in driver.current_url)


def _console_errors(browser: Any) -> list[str]:
    # The browser asks for /favicon.ico by itself; the app has none (a 404 the pages do not cause).
    return [
        e["message"]
        for e in browser.get_log("browser")
        if e["level"] == "SEVERE" and "favicon.ico" not in e["message"]
    ]


def _wait_for_charts(browser: Any) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(browser, 20).until(
        lambda driver: driver.execute_script("return document.body.dataset.chartsDrawn") == "true"
    )


CHART_STATE = """
return Array.from(document.querySelectorAll("canvas[data-series]")).map(function (canvas) {
  var chart = Chart.getChart(canvas);
  return {
    id: canvas.id, width: canvas.width, height: canvas.height,
    labels: chart.data.labels,
    datasets: chart.data.datasets.map(function (d) { return {label: d.label, data: d.data}; })
  };
});
"""


def test_the_dashboard_draws_its_charts_from_seeded_activity(
    browser: Any, live_server: Any, transactional_db: Any
) -> None:
    from selenium.webdriver.common.by import By

    seed_activity(users=3)
    staff = staff_with("backoffice.view_dashboard", "backoffice.view_health", "accounts.view_user")
    _logged_in(browser, live_server.url, staff.email)
    browser.get(f"{live_server.url}/admin/?days=7")
    _wait_for_charts(browser)
    _shoot(browser, "dashboard-7-days")

    charts = {c["id"]: c for c in browser.execute_script(CHART_STATE)}
    assert set(charts) == {
        "chart-active",
        "chart-signups",
        "chart-items",
        "chart-sync",
        "chart-workspaces",
        "chart-focus",
    }
    for chart in charts.values():
        assert len(chart["labels"]) == 7
        assert chart["width"] > 0
        assert chart["height"] > 0
        assert all(len(d["data"]) == 7 for d in chart["datasets"])
    active = {d["label"]: d["data"] for d in charts["chart-active"]["datasets"]}
    assert set(active) == {"Daily", "Weekly", "Monthly"}
    assert active["Daily"][-1] == 3
    items = {d["label"]: d["data"] for d in charts["chart-items"]["datasets"]}
    assert (items["Created"][-1], items["Completed"][-1]) == (9, 3)
    sync = {d["label"]: d["data"] for d in charts["chart-sync"]["datasets"]}
    assert (sync["Pulls"][-1], sync["Pushes"][-1]) == (7, 2)
    assert browser.find_element(By.ID, "tile-dau").text == "3"
    assert browser.find_element(By.ID, "tile-signups").text == "4"  # and the staff member

    browser.find_element(By.LINK_TEXT, "90 days").click()
    _wait_for_charts(browser)
    assert all(len(c["labels"]) == 90 for c in browser.execute_script(CHART_STATE))
    _shoot(browser, "dashboard-90-days")
    assert _console_errors(browser) == []
    assert _csp_violations(browser) == []


def test_the_health_panel_shows_the_last_hour(browser: Any, live_server: Any, transactional_db: Any) -> None:
    from selenium.webdriver.common.by import By

    staff = staff_with("backoffice.view_health")
    api = client_for(UserFactory.create())
    health.snapshot()
    for _ in range(3):
        api.get("/api/v1/lists")
    _logged_in(browser, live_server.url, staff.email)
    browser.get(f"{live_server.url}/admin/backoffice/health/")
    _wait_for_charts(browser)
    _shoot(browser, "health")
    table = browser.find_element(By.ID, "routes").text
    assert "v1:list-list" in table
    assert "admin:index" in table or "admin:login" in table  # the staff member's own requests
    ids = {c["id"] for c in browser.execute_script(CHART_STATE)}
    assert ids == {"chart-requests", "chart-db"}
    assert browser.find_element(By.ID, "tile-sockets").text == "0"
    assert _console_errors(browser) == []
    assert _csp_violations(browser) == []


def _confirm(browser: Any, base: str, link_id: str) -> str:
    """Clicks an action on the user's page, confirms it, and returns the message shown."""
    from selenium.webdriver.common.by import By

    browser.find_element(By.ID, link_id).click()
    assert "Cancel" in browser.find_element(By.CSS_SELECTOR, ".bo-confirm").text
    browser.find_element(By.CSS_SELECTOR, ".bo-confirm input[type=submit]").click()
    return str(browser.find_element(By.CSS_SELECTOR, ".messagelist").text)


def test_each_staff_action_end_to_end_with_its_audit_event(
    browser: Any, live_server: Any, transactional_db: Any
) -> None:
    from selenium.webdriver.common.by import By

    base = live_server.url
    staff = staff_with(*ALL_BACKOFFICE, email="support@example.com")
    target = cast(User, UserFactory(email="target@example.com"))
    api = client_for(target)
    key, _ = api_key_create(user=target, name="build server", scopes=["read"])
    workspace = WorkspaceFactory.create(name="Garden club")
    MemberFactory.create(workspace=workspace, user=target, role="editor")
    downloads = tempfile.mkdtemp(prefix="daymark-downloads-")
    browser.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": downloads})

    _logged_in(browser, base, staff.email)
    browser.get(f"{base}/admin/")
    search = browser.find_element(By.CSS_SELECTOR, ".bo-search input[name=q]")
    search.send_keys("target@")
    search.submit()
    browser.find_element(By.LINK_TEXT, "target@example.com").click()
    assert "build server" in browser.find_element(By.ID, "user-api-keys").text
    assert "Garden club" in browser.find_element(By.ID, "user-workspaces").text
    _shoot(browser, "user-page")

    assert "Deactivated target@example.com" in _confirm(browser, base, "action-deactivate")
    assert browser.find_element(By.ID, "user-state").text == "deactivated"
    assert api.get("/api/v1/lists").status_code == 401
    assert "Reactivated" in _confirm(browser, base, "action-reactivate")
    assert "Sent a password reset" in _confirm(browser, base, "action-password-reset")
    assert "Revoked the API key" in _confirm(browser, base, f"revoke-{key.pk}")
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert "Removed target@example.com from Garden club" in _confirm(browser, base, f"remove-{workspace.pk}")
    assert not Member.objects.filter(workspace=workspace, user=target).exists()

    browser.find_element(By.ID, "action-export").click()
    browser.find_element(By.CSS_SELECTOR, ".bo-confirm input[type=submit]").click()
    for _ in range(100):
        files = [f for f in os.listdir(downloads) if f.endswith(".json")]
        if files:
            break
        time.sleep(0.1)
    assert files
    assert files[0].startswith(f"daymark-export-{target.pk}")

    browser.get(f"{base}/admin/backoffice/users/{target.pk}/")
    assert "Deleted the account of target@example.com" in _confirm(browser, base, "action-delete")
    assert not User.objects.filter(pk=target.pk).exists()

    by_staff = AuditEvent.objects.filter(user=staff).exclude(event=Event.ADMIN_LOGIN)
    assert set(by_staff.values_list("event", flat=True)) == {
        Event.REGISTRATION,  # the staff member's own account
        Event.USER_DEACTIVATED,
        Event.USER_ACTIVATED,
        Event.PASSWORD_RESET_REQUESTED,
        Event.WORKSPACE_MEMBER_REMOVED,
        Event.DATA_EXPORTED,
        Event.ACCOUNT_DELETED,
    }
    revoked = AuditEvent.objects.get(event=Event.API_KEY_REVOKED)
    assert revoked.metadata["revoked_by"] == staff.email
    assert _console_errors(browser) == []
    assert _csp_violations(browser) == []


def test_non_staff_and_staff_without_the_permission_are_refused(
    browser: Any, live_server: Any, transactional_db: Any
) -> None:
    from selenium.webdriver.common.by import By

    base = live_server.url
    target = cast(User, UserFactory())
    outsider = cast(User, UserFactory())
    _log_in(browser, base, outsider.email)
    assert "staff account" in browser.find_element(By.CSS_SELECTOR, ".errornote").text
    browser.get(f"{base}/admin/backoffice/health/")
    assert "/admin/login/" in browser.current_url

    browser.delete_all_cookies()
    staff = staff_with("accounts.view_user")
    _logged_in(browser, base, staff.email)
    browser.get(f"{base}/admin/")
    assert browser.find_elements(By.ID, "backoffice-dashboard") == []
    for path in ("backoffice/health/", f"backoffice/users/{target.pk}/deactivate/"):
        browser.get(f"{base}/admin/{path}")
        assert "403" in browser.title or "Forbidden" in browser.page_source
    browser.get(f"{base}/admin/backoffice/users/{target.pk}/")
    assert "no permission for an action" in browser.find_element(By.ID, "user-actions").text
    assert User.objects.get(pk=target.pk).is_active
