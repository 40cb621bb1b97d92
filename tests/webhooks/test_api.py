"""user/webhooks: creating, listing, changing and deleting webhooks, their deliveries, redeliver and test
(docs/api/webhooks.md)."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from accounts.models import AuditEvent, User
from accounts.services.api_keys import api_key_create
from tests.conftest import client_for
from tests.webhooks.conftest import HOOKS, StubResolver, make_webhook
from webhooks.models import Delivery, Endpoint
from webhooks.services import MAX_ENDPOINTS_PER_USER

pytestmark = pytest.mark.django_db

PUBLIC = "https://hooks.example.com/daymark"


@pytest.fixture(autouse=True)
def _public_name(resolver: StubResolver) -> None:
    resolver.names["hooks.example.com"] = ["93.184.216.34"]


class TestCreate:
    def test_it_shows_the_secret_once(self, user: User, user_client: APIClient) -> None:
        response = user_client.post(
            HOOKS, {"url": PUBLIC, "events": ["item.created", "list.deleted"]}, format="json"
        )
        assert response.status_code == 201
        body = response.json()
        assert set(body) == {"id", "url", "events", "active", "created_at", "secret"}
        assert body["secret"].startswith("whsec_")
        assert body["events"] == ["item.created", "list.deleted"]
        assert body["active"] is True
        listed = user_client.get(HOOKS).json()["results"]
        assert listed == [{k: v for k, v in body.items() if k != "secret"}]
        assert user_client.get(f"{HOOKS}/{body['id']}").json() == listed[0]

    def test_all_events(self, user_client: APIClient) -> None:
        body = user_client.post(HOOKS, {"url": PUBLIC, "events": ["*"]}, format="json").json()
        assert body["events"] == ["*"]

    @pytest.mark.parametrize(
        "body",
        [
            {},
            {"url": PUBLIC},
            {"events": ["*"]},
            {"url": PUBLIC, "events": []},
            {"url": PUBLIC, "events": ["item.exploded"]},
            {"url": PUBLIC, "events": ["*", "item.created"]},
            {"url": PUBLIC, "events": "item.created"},
            {"url": PUBLIC, "events": [1]},
            {"url": "not a url", "events": ["*"]},
            {"url": "http://hooks.example.com/x", "events": ["*"]},
            {"url": "ftp://hooks.example.com/x", "events": ["*"]},
            {"url": "https://user:pass@hooks.example.com/x", "events": ["*"]},
            {"url": "https://unknown.example.com/x", "events": ["*"]},
            {"url": PUBLIC, "events": ["*"], "secret": "whsec_mine"},
            {"url": PUBLIC, "events": ["*"], "active": "maybe"},
            {"url": PUBLIC + "/" + "a" * 2000, "events": ["*"]},
        ],
    )
    def test_bad_input_is_a_400_problem_and_changes_nothing(self, user_client: APIClient, body: Any) -> None:
        response = user_client.post(HOOKS, body, format="json")
        assert response.status_code == 400, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "validation_error"
        assert not Endpoint.objects.exists()

    def test_a_user_has_at_most_so_many(self, user: User, user_client: APIClient) -> None:
        for _ in range(MAX_ENDPOINTS_PER_USER):
            make_webhook(user, PUBLIC)
        response = user_client.post(HOOKS, {"url": PUBLIC, "events": ["*"]}, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "validation_error"
        assert Endpoint.objects.count() == MAX_ENDPOINTS_PER_USER

    def test_an_api_key_may_not_create_one(self, user: User) -> None:
        _, key = api_key_create(user=user, name="script", scopes=["read", "write"])
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Api-Key {key}")
        response = client.post(HOOKS, {"url": PUBLIC, "events": ["*"]}, format="json")
        assert response.status_code == 403
        assert not Endpoint.objects.exists()

    def test_anonymous_is_401(self, api_client: APIClient) -> None:
        assert api_client.get(HOOKS).status_code == 401
        assert api_client.post(HOOKS, {"url": PUBLIC, "events": ["*"]}, format="json").status_code == 401

    def test_the_list_costs_one_query_whatever_its_length(self, user: User, user_client: APIClient) -> None:
        for _ in range(4):
            make_webhook(user, PUBLIC)
        user_client.get(HOOKS)  # the token's user is cached from here on
        with CaptureQueriesContext(connection) as queries:
            response = user_client.get(HOOKS)
        assert len(response.json()["results"]) == 4
        # The page of the user's webhooks.
        assert len(queries) == 1, [q["sql"] for q in queries]


class TestChange:
    def test_patch_url_events_active(
        self, user: User, user_client: APIClient, resolver: StubResolver
    ) -> None:
        resolver.names["other.example.org"] = ["2606:4700::1"]
        hook = make_webhook(user, PUBLIC)
        response = user_client.patch(
            f"{HOOKS}/{hook['id']}",
            {"url": "https://other.example.org/in", "events": ["item.completed"], "active": False},
            format="json",
        )
        assert response.status_code == 200, response.content
        assert response.json() | {"created_at": None} == {
            "id": hook["id"],
            "url": "https://other.example.org/in",
            "events": ["item.completed"],
            "active": False,
            "created_at": None,
        }

    @pytest.mark.parametrize(
        "body",
        [
            {"url": "http://hooks.example.com/x"},
            {"url": "https://127.0.0.1/x"},
            {"events": []},
            {"events": ["nope"]},
            {"active": None},
            {"secret": "whsec_x"},
        ],
    )
    def test_bad_input_is_a_400_and_changes_nothing(
        self, user: User, user_client: APIClient, body: Any
    ) -> None:
        hook = make_webhook(user, PUBLIC)
        before = Endpoint.objects.values().get(pk=hook["id"])
        response = user_client.patch(f"{HOOKS}/{hook['id']}", body, format="json")
        assert response.status_code == 400
        assert response.json()["code"] == "validation_error"
        assert Endpoint.objects.values().get(pk=hook["id"]) == before

    def test_delete(self, user: User, user_client: APIClient) -> None:
        hook = make_webhook(user, PUBLIC)
        assert user_client.delete(f"{HOOKS}/{hook['id']}").status_code == 204
        assert not Endpoint.objects.exists()
        assert user_client.get(f"{HOOKS}/{hook['id']}").status_code == 404


class TestOtherUsers:
    def test_another_users_webhook_is_a_404_everywhere(self, user: User, other_client: APIClient) -> None:
        hook = make_webhook(user, PUBLIC)
        path = f"{HOOKS}/{hook['id']}"
        assert other_client.get(HOOKS).json()["results"] == []
        assert other_client.get(path).status_code == 404
        assert other_client.patch(path, {"active": False}, format="json").status_code == 404
        assert other_client.delete(path).status_code == 404
        assert other_client.get(f"{path}/deliveries").status_code == 404
        assert other_client.post(f"{path}/test").status_code == 404
        user_client = client_for(user)
        delivery = user_client.post(f"{path}/test").json()
        assert other_client.post(f"{path}/deliveries/{delivery['id']}/redeliver").status_code == 404
        assert Endpoint.objects.get().active
        assert Delivery.objects.count() == 1


class TestDeliveries:
    def test_test_makes_a_ping_delivery_due_now(self, user: User, user_client: APIClient) -> None:
        hook = make_webhook(user, PUBLIC)
        response = user_client.post(f"{HOOKS}/{hook['id']}/test")
        assert response.status_code == 202
        body = response.json()
        assert body["event"] == "ping"
        assert body["status"] == "pending"
        assert body["attempts"] == 0
        listed = user_client.get(f"{HOOKS}/{hook['id']}/deliveries").json()["results"]
        assert listed == [body]

    def test_the_list_costs_a_fixed_number_of_queries(self, user: User, user_client: APIClient) -> None:
        hook = make_webhook(user, PUBLIC)
        for _ in range(5):
            user_client.post(f"{HOOKS}/{hook['id']}/test")
        with CaptureQueriesContext(connection) as queries:
            response = user_client.get(f"{HOOKS}/{hook['id']}/deliveries")
        assert len(response.json()["results"]) == 5
        # The endpoint, the page with its events' types (the token's user is cached since the posts above).
        assert len(queries) == 2, [q["sql"] for q in queries]

    def test_redeliver_makes_it_due_again_with_the_same_id(self, user: User, user_client: APIClient) -> None:
        hook = make_webhook(user, PUBLIC)
        delivery = user_client.post(f"{HOOKS}/{hook['id']}/test").json()
        Delivery.objects.filter(pk=delivery["id"]).update(status="failed", next_attempt_at=None, attempts=10)
        response = user_client.post(f"{HOOKS}/{hook['id']}/deliveries/{delivery['id']}/redeliver")
        assert response.status_code == 202
        assert response.json()["id"] == delivery["id"]
        assert response.json()["status"] == "pending"
        assert response.json()["next_attempt_at"] is not None

    def test_an_inactive_webhook_is_400_for_test_and_redeliver(
        self, user: User, user_client: APIClient
    ) -> None:
        hook = make_webhook(user, PUBLIC)
        delivery = user_client.post(f"{HOOKS}/{hook['id']}/test").json()
        user_client.patch(f"{HOOKS}/{hook['id']}", {"active": False}, format="json")
        before = list(Delivery.objects.values())
        assert before[0]["status"] == "failed"  # turning it off failed what was pending
        for path in (
            f"{HOOKS}/{hook['id']}/test",
            f"{HOOKS}/{hook['id']}/deliveries/{delivery['id']}/redeliver",
        ):
            response = user_client.post(path)
            assert response.status_code == 400
            assert response.json()["code"] == "validation_error"
        assert list(Delivery.objects.values()) == before

    def test_an_unknown_delivery_is_404(self, user: User, user_client: APIClient) -> None:
        hook = make_webhook(user, PUBLIC)
        missing = "6a1d3b1e-0000-4000-8000-000000000000"
        assert user_client.post(f"{HOOKS}/{hook['id']}/deliveries/{missing}/redeliver").status_code == 404


class TestAudit:
    def test_creating_and_deleting_a_webhook_are_audited_with_its_host_only(
        self, user: User, user_client: APIClient
    ) -> None:
        url = "https://hooks.example.com/services/T0/B0/path-secret?token=query-secret"
        body = user_client.post(HOOKS, {"url": url, "events": ["item.created"]}, format="json").json()
        assert user_client.delete(f"{HOOKS}/{body['id']}").status_code == 204
        rows = list(AuditEvent.objects.filter(target_type="webhook").order_by("id"))
        assert [(e.event, e.user_id, e.email, e.target_id) for e in rows] == [
            ("webhook_created", user.pk, user.email, body["id"]),
            ("webhook_deleted", user.pk, user.email, body["id"]),
        ]
        assert rows[0].metadata == {"host": "hooks.example.com", "events": ["item.created"]}
        assert rows[1].metadata == {"host": "hooks.example.com"}
        # Neither the URL's path and query (often the receiver's own credential) nor the signing secret.
        logged = str([(e.metadata, e.target_id) for e in rows])
        assert "secret" not in logged
        assert body["secret"] not in logged

    def test_refused_or_foreign_writes_are_not_audited(self, user: User, other_client: APIClient) -> None:
        mine = make_webhook(user, PUBLIC)
        assert other_client.delete(f"{HOOKS}/{mine['id']}").status_code == 404
        refused = other_client.post(
            HOOKS, {"url": "http://hooks.example.com/x", "events": ["*"]}, format="json"
        )
        assert refused.status_code == 400
        webhook_events = AuditEvent.objects.filter(target_type="webhook").order_by("id")
        assert list(webhook_events.values_list("event", flat=True)) == ["webhook_created"]
