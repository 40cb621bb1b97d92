"""Workspaces in the back office, in a real headless Chromium against the live server: staff find a
workspace and its members, remove a member through the service (audited, access cut), and cannot edit."""

from __future__ import annotations

from typing import Any, cast

import pytest

from accounts.models import AuditEvent, User
from tests.accounts.test_admin_browser import (
    CHROMEDRIVER,
    CHROMIUM,
    _csp_violations,
    _log_in,
    _search,
    browser,
)
from tests.conftest import LIVE_SERVERS, client_for
from tests.factories import UserFactory
from workspaces.models import Member, Workspace
from workspaces.services import invitation_accept, invitation_create, workspace_create

__all__ = ["browser"]  # the fixture, used by name

pytestmark = [
    pytest.mark.browser,
    LIVE_SERVERS,
    pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="no chromium/chromedriver installed"),
]


def test_staff_remove_a_member_and_cannot_edit_a_workspace(
    browser: Any, live_server: Any, transactional_db: Any
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    staff = cast(User, UserFactory(is_staff=True, is_superuser=True))
    owner = cast(User, UserFactory(email="owner@example.com"))
    member = cast(User, UserFactory(email="member@example.com"))
    workspace, _ = workspace_create(user=owner, data={"name": "Garden club"})
    invitation = invitation_create(user=owner, workspace_id=workspace.pk, email=member.email, role="editor")
    invitation_accept(user=member, invitation_id=invitation.pk)
    assert client_for(member).get(f"/api/v1/workspaces/{workspace.pk}").status_code == 200
    base = live_server.url

    _log_in(browser, base, staff.email)
    browser.get(f"{base}/admin/workspaces/workspace/")
    _search(browser, "Garden")
    rows = browser.find_elements(By.CSS_SELECTOR, "#result_list tbody tr")
    assert [r.find_element(By.CSS_SELECTOR, "th a").text for r in rows] == ["Garden club"]
    rows[0].find_element(By.CSS_SELECTOR, "th a").click()
    page = browser.find_element(By.ID, "content").text
    assert "member@example.com" in page
    assert "owner@example.com" in page
    # Read-only: no form fields to save, no delete link.
    assert browser.find_elements(By.CSS_SELECTOR, "input[name=_save]") == []
    assert browser.find_elements(By.CSS_SELECTOR, "a.deletelink") == []

    browser.get(f"{base}/admin/workspaces/member/")
    _search(browser, "member@example.com")
    target = Member.objects.get(workspace=workspace, user=member)
    browser.find_element(By.CSS_SELECTOR, f"input.action-select[value='{target.pk}']").click()
    Select(browser.find_element(By.NAME, "action")).select_by_value("remove_members")
    browser.find_element(By.CSS_SELECTOR, "button[name=index]").click()
    assert "Removed 1 member(s)." in browser.find_element(By.CSS_SELECTOR, ".messagelist").text

    assert not Member.objects.filter(workspace=workspace, user=member).exists()
    assert Workspace.objects.filter(pk=workspace.pk).exists()
    assert client_for(member).get(f"/api/v1/workspaces/{workspace.pk}").status_code == 404
    removal = AuditEvent.objects.filter(event=AuditEvent.Event.WORKSPACE_MEMBER_REMOVED).get()
    assert removal.user == staff  # the audit event names the staff member who acted
    assert removal.metadata["target_email"] == member.email
    assert removal.metadata["by_staff"] is True
    assert _csp_violations(browser) == []
