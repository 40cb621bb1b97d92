"""Delivery against a real HTTP receiver on 127.0.0.1 (WEBHOOKS_ALLOW_INSECURE on, as in development):
Standard Webhooks signatures verified with the `standardwebhooks` library, retries with a stable
`webhook-id` on the schedule, 410 and three days of failures disabling the endpoint with a notification,
redirects not followed, and deliveries out of order told apart by `data.version`."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any, cast

import pytest
from django.utils import timezone
from standardwebhooks.webhooks import Webhook

from accounts.models import User
from core.versioning import ANY_VERSION
from lists.models import Item, List
from lists.services import item_update
from reminders.models import Notification
from tests.conftest import client_for
from tests.factories import ItemFactory, ListFactory
from tests.webhooks.conftest import HOOKS, make_webhook
from tests.webhooks.receiver import Answer, Received, Receiver, running
from webhooks.delivery import ANSWER_LIMIT, DISABLE_AFTER, RETRY_SCHEDULE, deliver_due
from webhooks.models import Delivery, Endpoint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("insecure")]


def an_item(user: User) -> Item:
    return cast(Item, ItemFactory(list=ListFactory(user=user), user=user))


def verified(secret: str, request: Received) -> dict[str, Any]:
    return cast(dict[str, Any], Webhook(secret).verify(request.body, request.headers))


def drain(later: timedelta = timedelta(0)) -> int:
    """One batch of what is due `later` from now (a retry's time, without waiting for it)."""
    return deliver_due(timezone.now() + later)


class TestSigned:
    def test_a_consumer_verifies_the_signature_with_the_standardwebhooks_library(
        self, user: User, receiver: Receiver
    ) -> None:
        hook = make_webhook(user, receiver.url, ["item.created"])
        item = an_item(user)
        assert drain() == 1
        [request] = receiver.wait_for(1)
        body = verified(hook["secret"], request)
        assert body["type"] == "item.created"
        assert body["data"]["id"] == str(item.pk)
        assert body["data"]["actor"] == str(user.pk)
        assert request.headers["content-type"] == "application/json"
        delivery = Delivery.objects.get()
        assert request.headers["webhook-id"] == delivery.webhook_id
        assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 1, 200)
        # Signed with another secret, or with the body changed, it does not verify.
        other = make_webhook(user, receiver.url)["secret"]
        with pytest.raises(Exception, match="signature"):
            verified(other, request)
        with pytest.raises(Exception, match="signature"):
            Webhook(hook["secret"]).verify(request.body + b" ", request.headers)

    def test_a_ping(self, user: User, receiver: Receiver) -> None:
        hook = make_webhook(user, receiver.url)
        client_for(user).post(f"{HOOKS}/{hook['id']}/test")
        drain()
        body = verified(hook["secret"], receiver.wait_for(1)[0])
        assert body["type"] == "ping"
        assert body["data"] == {"webhook": hook["id"]}


class TestTheWorkerCommand:
    def test_worker_once_runs_the_delivery_loop_until_nothing_is_due(
        self, user: User, receiver: Receiver
    ) -> None:
        from io import StringIO

        from django.core.management import call_command

        make_webhook(user, receiver.url, ["item.created"])
        listed = cast(List, ListFactory(user=user))
        for _ in range(3):
            ItemFactory(list=listed, user=user)
        out = StringIO()
        call_command("worker", "--once", "--no-tasks", stdout=out)
        assert "webhooks.deliver: ok" in out.getvalue()
        assert receiver.wait_for(3)
        assert set(Delivery.objects.values_list("status", flat=True)) == {"succeeded"}


class TestRetries:
    def test_retries_keep_the_webhook_id_and_follow_the_schedule(self, user: User) -> None:
        answers = iter([500, 503, 200])
        with running(lambda request: next(answers)) as receiver:
            hook = make_webhook(user, receiver.url, ["item.created"])
            an_item(user)
            drain()
            delivery = Delivery.objects.get()
            assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("pending", 1, 500)
            assert delivery.next_attempt_at is not None
            assert delivery.last_attempt_at is not None
            assert delivery.next_attempt_at - delivery.last_attempt_at == RETRY_SCHEDULE[0]
            assert drain() == 0  # not due yet
            drain(timedelta(seconds=6))
            delivery.refresh_from_db()
            assert (delivery.attempts, delivery.last_status_code) == (2, 503)
            assert delivery.next_attempt_at - delivery.last_attempt_at == RETRY_SCHEDULE[1]
            drain(timedelta(minutes=6))
            delivery.refresh_from_db()
            assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("succeeded", 3, 200)
            requests = receiver.wait_for(3)
        assert {request.headers["webhook-id"] for request in requests} == {delivery.webhook_id}
        assert {request.body for request in requests} == {requests[0].body}
        for request in requests:
            verified(hook["secret"], request)
        assert Endpoint.objects.get().failing_since is None  # a success forgets the failures

    def test_after_the_last_retry_it_fails(self, user: User) -> None:
        with running(lambda request: 500) as receiver:
            make_webhook(user, receiver.url, ["item.created"])
            an_item(user)
            drain()
            delays = []
            for _ in RETRY_SCHEDULE:
                delivery = Delivery.objects.get()
                delays.append(delivery.next_attempt_at - delivery.last_attempt_at)  # type: ignore[operator]
                drain(timedelta(days=2))
            assert receiver.count == 1 + len(RETRY_SCHEDULE)
        assert delays == list(RETRY_SCHEDULE)
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.attempts, delivery.next_attempt_at) == ("failed", 10, None)

    def test_a_redirect_is_a_failure_and_is_not_followed(self, user: User) -> None:
        to_metadata = (302, {"Location": "http://169.254.169.254/latest/meta-data/"})
        with running(lambda request: to_metadata) as receiver:
            make_webhook(user, receiver.url, ["item.created"])
            an_item(user)
            drain()
            assert receiver.count == 1
        delivery = Delivery.objects.get()
        assert (delivery.status, delivery.last_status_code) == ("pending", 302)

    def test_no_answer_is_a_failure_and_the_rest_of_the_batch_waits(self, user: User) -> None:
        with running() as receiver:
            url = receiver.url
        # Nobody listens there any more: the connection is refused.
        make_webhook(user, url, ["item.created"])
        listed = cast(List, ListFactory(user=user))
        for _ in range(3):
            ItemFactory(list=listed, user=user)
        assert drain() == 3
        attempts = sorted(Delivery.objects.values_list("attempts", flat=True))
        assert attempts == [0, 0, 1]
        assert all(d.status == "pending" for d in Delivery.objects.all())
        assert "Connect" in Delivery.objects.get(attempts=1).last_error


class TestTheConnection:
    """Deliveries go out through httpx's transport, without a client: what a client would add must not be
    there, and a kept connection must be kept."""

    @staticmethod
    def _deliver(user: User, count: int, answer: Answer) -> list[Received]:
        """`count` item events delivered in one batch to a receiver that answers `answer`; all succeed."""
        with running(lambda request: answer) as receiver:
            make_webhook(user, receiver.url, ["item.created"])
            listed = cast(List, ListFactory(user=user))
            for _ in range(count):
                ItemFactory(list=listed, user=user)
            assert drain() == count
            requests = receiver.wait_for(count)
        assert set(Delivery.objects.values_list("status", "last_status_code")) == {("succeeded", 200)}
        return requests

    def test_one_connection_carries_an_endpoints_deliveries(self, user: User) -> None:
        requests = self._deliver(user, 3, (200, {"Content-Type": "text/plain"}, b"thanks"))
        assert len({request.peer for request in requests}) == 1

    def test_a_receivers_cookie_is_never_sent_back(self, user: User) -> None:
        with running(lambda request: (200, {"Set-Cookie": "session=abc; Path=/"})) as receiver:
            make_webhook(user, receiver.url, ["item.created"])
            an_item(user)
            drain()
            an_item(user)
            drain()
            requests = receiver.wait_for(2)
        assert [request.headers.get("cookie") for request in requests] == [None, None]

    def test_a_long_answer_is_read_no_further_than_the_limit_and_the_next_delivery_still_goes(
        self, user: User
    ) -> None:
        requests = self._deliver(user, 2, (200, {}, b"x" * (ANSWER_LIMIT * 4)))
        # The first answer's connection was closed unread, so the second came over a new one.
        assert len({request.peer for request in requests}) == 2


class TestDisabling:
    def test_a_410_disables_at_once_and_tells_the_owner(self, user: User) -> None:
        with running(lambda request: 410) as receiver:
            hook = make_webhook(user, receiver.url, ["item.created"])
            listed = cast(List, ListFactory(user=user))
            ItemFactory(list=listed, user=user)
            ItemFactory(list=listed, user=user)
            drain()
            assert receiver.count == 1  # the second delivery is never sent
        endpoint = Endpoint.objects.get()
        assert (endpoint.active, endpoint.disabled_reason) == (False, "gone")
        assert sorted(Delivery.objects.values_list("status", flat=True)) == ["failed", "failed"]
        notification = Notification.objects.get(user=user, kind="webhook_disabled")
        assert notification.data["webhook"] == hook["id"]
        assert notification.data["reason"] == "gone"
        shown = client_for(user).get(f"{HOOKS}/{hook['id']}").json()
        assert shown["active"] is False
        # Turned on again by its owner, it delivers again.
        client_for(user).patch(f"{HOOKS}/{hook['id']}", {"active": True}, format="json")
        assert Endpoint.objects.get().active

    def test_three_days_of_failures_disable_it(self, user: User) -> None:
        with running(lambda request: 500) as receiver:
            make_webhook(user, receiver.url, ["item.created"])
            an_item(user)
            drain()
            endpoint = Endpoint.objects.get()
            assert endpoint.active
            assert endpoint.failing_since is not None
            assert not Notification.objects.filter(kind="webhook_disabled").exists()
            # Failing since just over three days (the schedule's retries take that long).
            Endpoint.objects.update(failing_since=timezone.now() - DISABLE_AFTER - timedelta(minutes=1))
            drain(timedelta(hours=1))
        endpoint.refresh_from_db()
        assert (endpoint.active, endpoint.disabled_reason) == (False, "failing")
        assert Notification.objects.filter(user=user, kind="webhook_disabled").count() == 1
        assert Delivery.objects.get().status == "failed"


class TestOrdering:
    def test_out_of_order_deliveries_are_told_apart_by_the_version(self, user: User) -> None:
        failed_once: set[str] = set()

        def answer(request: Received) -> int:
            data = json.loads(request.body)["data"]
            if data.get("version") == 2 and "v2" not in failed_once:
                failed_once.add("v2")
                return 503
            return 200

        with running(answer) as receiver:
            make_webhook(user, receiver.url, ["item.updated"])
            item = an_item(user)
            item_update(user=user, item_id=item.pk, base=ANY_VERSION, data={"title": "second"})
            item_update(user=user, item_id=item.pk, base=ANY_VERSION, data={"title": "third"})
            drain()
            drain(timedelta(seconds=6))
            requests = receiver.wait_for(3)
        arrived = [json.loads(r.body)["data"] for r in requests]
        assert [data["version"] for data in arrived] == [2, 3, 2]
        # A consumer keeps the newest version it has seen: the retried older one changes nothing.
        kept: dict[str, dict[str, Any]] = {}
        for data in arrived[1:]:
            if data["version"] > kept.get(data["id"], {"version": 0})["version"]:
                kept[data["id"]] = data
        assert kept[str(item.pk)]["title"] == "third"
