"""The guard against internal addresses (SSRF), WEBHOOKS_ALLOW_INSECURE off, as in production: refused on
creation and before every delivery, before any connection is opened (names resolve through a stub; the
delivery client's transport fails the test if it is reached), and a delivery connects to the address that
was checked, so DNS rebinding between the check and the connection cannot work."""

from __future__ import annotations

from typing import Any, cast

import httpx
import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from rest_framework.test import APIClient

from accounts.models import User
from tests.factories import ItemFactory, ListFactory
from tests.webhooks.conftest import HOOKS, StubResolver, Unreachable, make_webhook
from webhooks import delivery as delivery_module
from webhooks import guard
from webhooks.delivery import deliver_due
from webhooks.models import Delivery, Endpoint

pytestmark = pytest.mark.django_db

INTERNAL = [
    "https://127.0.0.1/hook",
    "https://127.1.2.3/hook",
    "https://10.0.0.1/hook",
    "https://172.16.5.4/hook",
    "https://192.168.1.1/hook",
    "https://[::1]/hook",
    "https://169.254.169.254/latest/meta-data/",
    "https://100.64.0.1/hook",
    "https://0.0.0.0/hook",
    "https://224.0.0.1/hook",
    "https://240.0.0.1/hook",
    "https://[::ffff:127.0.0.1]/hook",
    "https://[::ffff:10.0.0.1]/hook",
    "https://[fe80::1]/hook",
    "https://[fd00::1]/hook",
    "https://[::]/hook",
    "https://[2002:7f00:1::]/hook",  # 6to4 of 127.0.0.1
    "https://2130706433/hook",  # 127.0.0.1 as one number
    "https://0x7f.0.0.1/hook",
    "https://localhost/hook",
]


@pytest.fixture(autouse=True)
def _names(resolver: StubResolver) -> None:
    resolver.names.update(
        {
            "hooks.example.com": ["93.184.216.34"],
            "loopback.example.com": ["127.0.0.1"],
            "mixed.example.com": ["93.184.216.34", "10.1.2.3"],
            "metadata.example.com": ["169.254.169.254"],
            "mapped.example.com": ["::ffff:192.168.0.1"],
        }
    )


class TestOnCreation:
    @pytest.mark.parametrize("url", INTERNAL)
    def test_an_internal_address_is_refused(
        self, user_client: APIClient, unreachable: Unreachable, url: str
    ) -> None:
        response = user_client.post(HOOKS, {"url": url, "events": ["*"]}, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["code"] == "validation_error"
        assert "url" in response.json()["errors"]
        assert not Endpoint.objects.exists()
        assert unreachable.reached == []

    @pytest.mark.parametrize(
        "host", ["loopback.example.com", "mixed.example.com", "metadata.example.com", "mapped.example.com"]
    )
    def test_a_name_resolving_to_an_internal_address_is_refused(
        self, user_client: APIClient, unreachable: Unreachable, resolver: StubResolver, host: str
    ) -> None:
        response = user_client.post(HOOKS, {"url": f"https://{host}/in", "events": ["*"]}, format="json")
        assert response.status_code == 400
        assert host in resolver.asked
        assert not Endpoint.objects.exists()

    def test_plain_http_is_refused(self, user_client: APIClient) -> None:
        response = user_client.post(
            HOOKS, {"url": "http://hooks.example.com/in", "events": ["*"]}, format="json"
        )
        assert response.status_code == 400
        assert response.json()["errors"]["url"] == ["The URL must use https."]

    def test_a_public_name_is_taken(self, user_client: APIClient) -> None:
        response = user_client.post(
            HOOKS, {"url": "https://hooks.example.com/in", "events": ["*"]}, format="json"
        )
        assert response.status_code == 201


class TestBeforeEveryDelivery:
    def _an_event_for(self, user: User) -> dict[str, Any]:
        hook = make_webhook(user, "https://hooks.example.com/in", ["item.created"])
        ItemFactory(list=ListFactory(user=user), user=user)
        return hook

    def test_a_name_that_turned_internal_is_refused_before_any_connection(
        self, user: User, resolver: StubResolver, unreachable: Unreachable
    ) -> None:
        self._an_event_for(user)
        resolver.names["hooks.example.com"] = ["127.0.0.1"]  # rebound after the creation's check
        assert deliver_due() == 1
        assert unreachable.reached == []
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, None)
        assert "internal address" in delivery.last_error

    def test_the_connection_goes_to_the_checked_address_with_the_name_for_host_and_tls(
        self, user: User, resolver: StubResolver, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seen: list[httpx.Request] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(request)
            return httpx.Response(204)

        # A transport that answers without a socket: what would be connected to is the request's URL.
        monkeypatch.setattr(delivery_module, "make_transport", lambda: httpx.MockTransport(answer))
        delivery_module.close_transports()

        answers = iter([["93.184.216.34"], ["127.0.0.1"]])  # public when checked, loopback right after
        self._an_event_for(user)
        monkeypatch.setattr(guard, "resolve", lambda host, port: next(answers))
        assert deliver_due() == 1
        [request] = seen
        assert request.url.host == "93.184.216.34"
        assert request.url.scheme == "https"
        assert request.headers["host"] == "hooks.example.com"
        assert request.extensions["sni_hostname"] == "hooks.example.com"
        assert Delivery.objects.get().status == "succeeded"

    def test_a_redirect_to_an_internal_address_is_not_followed(
        self, user: User, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        seen: list[str] = []

        def answer(request: httpx.Request) -> httpx.Response:
            seen.append(str(request.url))
            if len(seen) > 1:
                pytest.fail(f"the redirect was followed to {request.url}")
            return httpx.Response(307, headers={"Location": "http://169.254.169.254/latest/meta-data/"})

        monkeypatch.setattr(delivery_module, "make_transport", lambda: httpx.MockTransport(answer))
        delivery_module.close_transports()
        self._an_event_for(user)
        deliver_due()
        assert len(seen) == 1
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.last_status_code) == ("pending", 307)


class TestTheSetting:
    def test_check_deploy_refuses_it_when_debug_is_off(self, settings: Any) -> None:
        settings.DEBUG = False
        settings.WEBHOOKS_ALLOW_INSECURE = True
        with pytest.raises(SystemCheckError, match=r"webhooks\.E001"):
            call_command("check", "--deploy", "--fail-level", "ERROR", tags=["security"])

    def test_it_is_not_an_error_when_off_or_in_debug(self, settings: Any) -> None:
        from webhooks.checks import check_allow_insecure

        settings.DEBUG = False
        settings.WEBHOOKS_ALLOW_INSECURE = False
        assert check_allow_insecure(None) == []
        settings.DEBUG = True
        settings.WEBHOOKS_ALLOW_INSECURE = True
        assert check_allow_insecure(None) == []

    def test_it_lifts_both_rules(self, settings: Any, user_client: APIClient) -> None:
        settings.WEBHOOKS_ALLOW_INSECURE = True
        response = user_client.post(HOOKS, {"url": "http://127.0.0.1:9/in", "events": ["*"]}, format="json")
        assert response.status_code == 201
        assert cast(Any, guard.check_url("http://127.0.0.1:9/in")).address is None
