"""Idempotency-Key on every POST under /api/ (docs/api/idempotency.md)."""

from __future__ import annotations

import hashlib
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection, transaction
from django.utils import timezone

from core.models import IdempotencyKey
from lists.models import List
from sync.models import Space
from tests.sync.helpers import SYNC_URL, make_list, op

LISTS_URL = "/api/v1/lists"


def _post(user_client: Any, body: Any, key: str | None, url: str = LISTS_URL) -> Any:
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return user_client.post(url, body, format="json", **headers)


@pytest.mark.django_db
def test_a_repeat_with_the_same_body_replays_the_first_answer(user: Any, user_client: Any) -> None:
    first = _post(user_client, {"name": "Groceries"}, "key-1")
    again = _post(user_client, {"name": "Groceries"}, "key-1")

    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert again["ETag"] == first["ETag"]
    assert again["Location"] == first["Location"]
    assert "Idempotent-Replayed" not in first
    assert List.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_an_error_answer_is_replayed_too(user_client: Any) -> None:
    first = _post(user_client, {"name": ""}, "key-err")
    again = _post(user_client, {"name": ""}, "key-err")

    assert first.status_code == again.status_code == 400
    assert again.json() == first.json()
    assert again["Content-Type"] == "application/problem+json"


@pytest.mark.django_db
def test_the_same_key_with_another_body_is_a_422(user: Any, user_client: Any) -> None:
    _post(user_client, {"name": "One"}, "key-2")

    response = _post(user_client, {"name": "Two"}, "key-2")

    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert response["Content-Type"] == "application/problem+json"
    assert list(List.objects.filter(user=user).values_list("name", flat=True)) == ["One"]


@pytest.mark.django_db
def test_the_same_key_on_another_path_is_a_422(user: Any, user_client: Any) -> None:
    _post(user_client, {"operations": []}, "key-3", url=SYNC_URL)

    response = _post(user_client, {"operations": []}, "key-3", url=f"{SYNC_URL}?limit=5")

    assert response.status_code == 422


@pytest.mark.django_db
def test_a_push_is_replayed_with_its_first_answer(user: Any, user_client: Any) -> None:
    body = {"operations": [op("create", "list", uuid.uuid4(), name="Offline")]}
    first = _post(user_client, body, "push-1", url=SYNC_URL)
    make_list(user=user)  # a later change: a real re-run would pull it

    again = _post(user_client, body, "push-1", url=SYNC_URL)

    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"


@pytest.mark.django_db
def test_keys_are_per_user(user: Any, user_client: Any, other_user: Any, other_client: Any) -> None:
    _post(user_client, {"name": "Mine"}, "shared-key")

    response = _post(other_client, {"name": "Mine"}, "shared-key")

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert List.objects.filter(user=other_user).count() == 1


@pytest.mark.django_db
def test_a_key_longer_than_255_characters_is_a_400(user: Any, user_client: Any) -> None:
    too_long = _post(user_client, {"name": "x"}, "k" * 256)
    longest = _post(user_client, {"name": "x"}, "k" * 255)

    assert too_long.status_code == 400
    assert too_long.json()["code"] == "validation_error"
    assert "Idempotency-Key" in too_long.json()["errors"]
    assert longest.status_code == 201
    assert List.objects.filter(user=user).count() == 1


@pytest.mark.django_db
def test_an_expired_key_runs_the_request_again(user: Any, user_client: Any, settings: Any) -> None:
    _post(user_client, {"name": "Daily"}, "key-old")
    IdempotencyKey.objects.update(
        created_at=timezone.now() - timedelta(hours=settings.IDEMPOTENCY_KEY_TTL_HOURS, minutes=1)
    )

    response = _post(user_client, {"name": "Daily"}, "key-old")

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert List.objects.filter(user=user).count() == 2


@pytest.mark.django_db
def test_a_key_left_in_progress_by_a_dead_process_is_given_back(user: Any, user_client: Any) -> None:
    _post(user_client, {"name": "x"}, "orphan")
    IdempotencyKey.objects.update(status_code=None)  # as if the process died before storing the answer
    assert _post(user_client, {"name": "x"}, "orphan").status_code == 409
    IdempotencyKey.objects.update(created_at=timezone.now() - timedelta(minutes=6))

    response = _post(user_client, {"name": "x"}, "orphan")

    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert List.objects.filter(user=user).count() == 2


@pytest.mark.django_db
def test_without_valid_credentials_the_key_is_not_recorded(api_client: Any) -> None:
    response = _post(api_client, {"name": "x"}, "anon-key")

    assert response.status_code == 401
    assert not IdempotencyKey.objects.exists()


@pytest.mark.django_db
def test_the_key_is_ignored_on_other_methods(user: Any, user_client: Any) -> None:
    response = user_client.get(LISTS_URL, HTTP_IDEMPOTENCY_KEY="k" * 300)

    assert response.status_code == 200
    assert not IdempotencyKey.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_duplicate_while_the_first_is_running_is_a_409(user: Any, user_client: Any) -> None:
    make_list(user=user)
    locked, release = threading.Event(), threading.Event()
    first: dict[str, Any] = {}

    def hold_the_users_sync_lock() -> None:
        # The first request's write waits on this lock, so it stays in flight until the test releases it.
        try:
            with transaction.atomic():
                Space.objects.select_for_update().get(user=user)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    def first_request() -> None:
        try:
            first["response"] = _post(user_client, {"name": "Slow"}, "in-flight")
        finally:
            connection.close()

    locker = threading.Thread(target=hold_the_users_sync_lock)
    locker.start()
    assert locked.wait(10)
    runner = threading.Thread(target=first_request)
    runner.start()
    try:
        deadline = time.monotonic() + 10
        while not IdempotencyKey.objects.filter(key="in-flight").exists():
            assert time.monotonic() < deadline, "the first request never started"
            time.sleep(0.01)

        duplicate = _post(user_client, {"name": "Slow"}, "in-flight")
        other_body = _post(user_client, {"name": "Other"}, "in-flight")
    finally:
        release.set()
        locker.join(10)
        runner.join(10)

    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "idempotency_key_in_use"
    assert other_body.status_code == 422
    assert first["response"].status_code == 201
    replay = _post(user_client, {"name": "Slow"}, "in-flight")
    assert replay.status_code == 201
    assert replay["Idempotent-Replayed"] == "true"
    assert List.objects.filter(user=user, name="Slow").count() == 1


@pytest.mark.django_db
def test_a_browser_may_send_the_key_and_if_match(api_client: Any, settings: Any) -> None:
    settings.CORS_ALLOWED_ORIGINS = ["https://app.example.com"]

    preflight = api_client.options(
        LISTS_URL,
        HTTP_ORIGIN="https://app.example.com",
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, idempotency-key, if-match",
    )

    allowed = preflight["Access-Control-Allow-Headers"].lower()
    assert "idempotency-key" in allowed
    assert "if-match" in allowed


@pytest.mark.django_db
def test_stored_answers_and_request_hashes_hold_no_readable_secret(
    user: Any, user_client: Any, settings: Any
) -> None:
    """A replayable answer may carry a secret shown once (a new API key); at rest it is sealed, and the
    request hash is keyed, so neither gives away the key or a password in a body."""
    response = user_client.post(
        "/api/v1/user/api-keys", {"name": "ci", "scopes": ["read"]}, HTTP_IDEMPOTENCY_KEY="key-with-secret"
    )
    assert response.status_code == 201
    secret = response.json()["key"]
    stored = IdempotencyKey.objects.get(key="key-with-secret")
    assert secret.encode() not in bytes(stored.response_body)
    assert hashlib.sha256(b"POST\0/api/v1/user/api-keys\0" + response.wsgi_request.body).hexdigest() != (
        stored.request_hash
    )

    replay = user_client.post(
        "/api/v1/user/api-keys", {"name": "ci", "scopes": ["read"]}, HTTP_IDEMPOTENCY_KEY="key-with-secret"
    )
    assert replay["Idempotent-Replayed"] == "true"
    assert replay.json()["key"] == secret

    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-rotated-secret-key-for-this-test-only"
    during_rotation = user_client.post(
        "/api/v1/user/api-keys", {"name": "ci", "scopes": ["read"]}, HTTP_IDEMPOTENCY_KEY="key-with-secret"
    )
    assert during_rotation["Idempotent-Replayed"] == "true"
    assert during_rotation.json()["key"] == secret
