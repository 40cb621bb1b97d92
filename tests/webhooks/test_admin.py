"""Webhooks in the admin: endpoints and deliveries listed and filtered, secrets never shown, and the
actions (turn off, redeliver) through the services, for staff with the change permission only."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import User
from tests.backoffice.conftest import staff_with
from tests.conftest import client_for
from tests.webhooks.conftest import HOOKS, StubResolver, make_webhook
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _public_name(resolver: StubResolver) -> None:
    resolver.names["hooks.example.com"] = ["93.184.216.34"]


def _a_failed_delivery(user: User) -> tuple[dict[str, str], Delivery]:
    hook = make_webhook(user, "https://hooks.example.com/in")
    client_for(user).post(f"{HOOKS}/{hook['id']}/test")
    Delivery.objects.update(status="failed", next_attempt_at=None, attempts=10, last_status_code=500)
    return hook, Delivery.objects.get()


def test_the_pages_list_filter_and_never_show_the_secret(user: User, staff_client: Client) -> None:
    hook, delivery = _a_failed_delivery(user)
    pages = [
        "/admin/webhooks/endpoint/",
        "/admin/webhooks/endpoint/?active__exact=1",
        f"/admin/webhooks/endpoint/{hook['id']}/change/",
        "/admin/webhooks/delivery/",
        "/admin/webhooks/delivery/?status__exact=failed&event__type__exact=ping",
        f"/admin/webhooks/delivery/{delivery.pk}/change/",
    ]
    for page in pages:
        response = staff_client.get(page)
        assert response.status_code == 200, page
        assert hook["secret"].encode() not in response.content
        assert hook["secret"][6:20].encode() not in response.content
    assert b"hooks.example.com" in staff_client.get("/admin/webhooks/endpoint/").content
    assert str(delivery.pk).encode() in staff_client.get(pages[4]).content


def test_redeliver_goes_through_the_service(user: User, staff_client: Client) -> None:
    _, delivery = _a_failed_delivery(user)
    chosen = {"action": "redeliver", "_selected_action": [str(delivery.pk)]}
    response = staff_client.post("/admin/webhooks/delivery/", chosen, follow=True)
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert delivery.next_attempt_at is not None


def test_turn_off(user: User, staff_client: Client) -> None:
    hook = make_webhook(user, "https://hooks.example.com/in")
    staff_client.post("/admin/webhooks/endpoint/", {"action": "turn_off", "_selected_action": [hook["id"]]})
    assert not Endpoint.objects.get().active


def test_staff_who_may_only_look_cannot_act(user: User) -> None:
    _, delivery = _a_failed_delivery(user)
    viewer = staff_with("webhooks.view_delivery", "webhooks.view_endpoint")
    client = Client()
    client.force_login(viewer)
    assert client.get("/admin/webhooks/delivery/").status_code == 200
    client.post("/admin/webhooks/delivery/", {"action": "redeliver", "_selected_action": [str(delivery.pk)]})
    client.post(
        "/admin/webhooks/endpoint/", {"action": "turn_off", "_selected_action": [str(delivery.endpoint_id)]}
    )
    delivery.refresh_from_db()
    assert delivery.status == "failed"
    assert Endpoint.objects.get().active
    acting = staff_with("webhooks.view_delivery", "webhooks.change_delivery")
    client.force_login(acting)
    client.post("/admin/webhooks/delivery/", {"action": "redeliver", "_selected_action": [str(delivery.pk)]})
    delivery.refresh_from_db()
    assert delivery.status == "pending"
