"""The back office in a real headless Chromium, against the live server."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from typing import Any, cast

import pytest

from accounts.models import ApiKey, AuditEvent, User
from accounts.services.api_keys import api_key_create
from tests.conftest import LIVE_SERVERS
from tests.factories import DEFAULT_PASSWORD, UserFactory

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")

pytestmark = [
    pytest.mark.browser,
    LIVE_SERVERS,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="no chromium/chromedriver installed"),
]


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="daymark-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = cast(str, CHROMIUM)
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        f"--user-data-dir={profile}",
        "--window-size=1280,900",
    ):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    driver.implicitly_wait(5)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


def _log_in(browser: Any, base: str, email: str) -> None:
    """Submits the admin's login form and waits until the page after it has replaced the form: a test
    that navigated at once could race the login's answer, which then took the browser back to the index."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(f"{base}/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys(email)
    browser.find_element(By.NAME, "password").send_keys(DEFAULT_PASSWORD)
    submit = browser.find_element(By.CSS_SELECTOR, "input[type=submit]")
    submit.click()
    WebDriverWait(browser, 20).until(expected_conditions.staleness_of(submit))


def _search(browser: Any, text: str) -> None:
    """Submits the changelist's search and waits for the answer: read at once, the elements can still be
    those of the page before it."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    search = browser.find_element(By.ID, "searchbar")
    search.send_keys(text)
    search.submit()
    WebDriverWait(browser, 20).until(lambda driver: "q=" in driver.current_url)


def _csp_violations(browser: Any) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if "Content Security Policy" in e["message"]]


def test_a_non_staff_user_is_refused(browser: Any, live_server: Any, transactional_db: Any) -> None:
    from selenium.webdriver.common.by import By

    user = cast(User, UserFactory())
    _log_in(browser, live_server.url, user.email)
    assert "/admin/login/" in browser.current_url
    assert "staff account" in browser.find_element(By.CSS_SELECTOR, ".errornote").text
    browser.get(f"{live_server.url}/admin/accounts/user/")
    assert "/admin/login/" in browser.current_url


def test_staff_find_a_user_revoke_a_key_and_read_the_audit_log(
    browser: Any, live_server: Any, transactional_db: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    staff = cast(User, UserFactory(is_staff=True, is_superuser=True))
    owner = cast(User, UserFactory(email="owner@example.com"))
    cast(User, UserFactory(email="bystander@example.com"))
    api_key, _ = api_key_create(user=owner, name="build server", scopes=["read"])
    base = live_server.url

    _log_in(browser, base, staff.email)
    assert browser.current_url.rstrip("/").endswith("/admin")

    browser.get(f"{base}/admin/accounts/user/")
    _search(browser, "owner@")
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, "th a").text for r in rows] == ["owner@example.com"]
    rows[0].find_element(By.CSS_SELECTOR, "th a").click()
    assert api_key.prefix in browser.find_element(By.ID, "api_keys-group").text

    browser.get(f"{base}/admin/accounts/apikey/")
    assert "build server" in browser.find_element(By.ID, "result_list").text
    browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{api_key.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("revoke")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    assert "Revoked 1 key(s)." in browser.find_element(By.CSS_SELECTOR, ".messagelist").text
    api_key.refresh_from_db()
    assert api_key.revoked_at is not None

    browser.get(f"{base}/admin/accounts/auditevent/")
    _search(browser, "owner@example.com")
    text = browser.find_element(By.ID, "result_list").text
    assert "API key revoked" in text
    assert "bystander@example.com" not in text
    assert browser.find_elements(By.CSS_SELECTOR, ".object-tools a.addlink") == []
    assert AuditEvent.objects.filter(event=AuditEvent.Event.ADMIN_LOGIN, user=staff).exists()
    assert ApiKey.objects.filter(revoked_at__isnull=True).count() == 0
    assert _csp_violations(browser) == []


def test_the_api_docs_render_under_the_csp(browser: Any, live_server: Any, transactional_db: Any) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    wait = WebDriverWait(browser, 20)
    browser.get(f"{live_server.url}/api/docs")
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, ".swagger-ui .info .title")))
    assert "Daymark API" in browser.find_element(By.CSS_SELECTOR, ".swagger-ui .info .title").text
    browser.get(f"{live_server.url}/api/redoc")
    wait.until(expected_conditions.presence_of_element_located((By.CSS_SELECTOR, "h1")))
    assert "Daymark API" in browser.find_element(By.CSS_SELECTOR, "h1").text
    # Redoc's footer links a logo on cdn.redoc.ly; the CSP blocking that image is intended (no CDN).
    # Nothing the pages need (scripts, styles, workers, the schema fetch) may be blocked.
    violations = [v for v in _csp_violations(browser) if "cdn.redoc.ly" not in v]
    assert violations == []
