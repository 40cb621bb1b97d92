"""Passkeys (docs/api/passkeys.md) against a software authenticator: registration and login ceremonies,
what every wrong answer gets, the ceremony's five minutes and single use, sign counters, the caller's
passkeys through the API, and the audit log."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import AuditEvent, Passkey, PasskeyCeremony, User
from accounts.services.api_keys import api_key_create
from accounts.services.passkey_ceremonies import passkey_ceremonies_prune
from tests.accounts.passkey_authenticator import SoftAuthenticator, b64url
from tests.conftest import client_for
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

RP_ID = "daymark.test"
ORIGIN = "https://app.daymark.test"
BEGIN_REGISTER = "/api/v1/auth/passkeys/register/begin"
FINISH_REGISTER = "/api/v1/auth/passkeys/register/finish"
BEGIN_LOGIN = "/api/v1/auth/passkeys/login/begin"
FINISH_LOGIN = "/api/v1/auth/passkeys/login/finish"
PASSKEYS = "/api/v1/user/passkeys"


@pytest.fixture(autouse=True)
def _relying_party(settings: Any) -> None:
    settings.PASSKEYS_RP_ID = RP_ID
    settings.PASSKEYS_ORIGINS = [ORIGIN, "android:apk-key-hash:abc123"]


@pytest.fixture
def authenticator() -> SoftAuthenticator:
    return SoftAuthenticator()


def register(
    client: APIClient, authenticator: SoftAuthenticator, name: str = "My phone", **wrong: Any
) -> Any:
    begun = client.post(BEGIN_REGISTER)
    assert begun.status_code == 200, begun.content
    body = begun.json()
    credential = authenticator.create(body["options"], origin=wrong.pop("origin", ORIGIN), **wrong)
    return client.post(
        FINISH_REGISTER, {"ceremony": body["ceremony"], "credential": credential, "name": name}
    )


def begin_login(client: APIClient, email: str | None = None) -> dict[str, Any]:
    answer = client.post(BEGIN_LOGIN, {"email": email} if email is not None else {})
    assert answer.status_code == 200, answer.content
    return dict(answer.json())


def login(client: APIClient, authenticator: SoftAuthenticator, email: str | None = None, **wrong: Any) -> Any:
    begun = begin_login(client, email)
    credential = authenticator.get(begun["options"], origin=wrong.pop("origin", ORIGIN), **wrong)
    return client.post(FINISH_LOGIN, {"ceremony": begun["ceremony"], "credential": credential})


@pytest.fixture
def registered(user: User, user_client: APIClient, authenticator: SoftAuthenticator) -> Passkey:
    answer = register(user_client, authenticator)
    assert answer.status_code == 201, answer.content
    return Passkey.objects.get(pk=answer.json()["id"])


def events(user: User, event: str) -> list[AuditEvent]:
    return list(AuditEvent.objects.filter(user=user, event=event))


# --- Registration -----------------------------------------------------------------------------------------


def test_registration_stores_the_passkey_and_answers_it(
    user: User, user_client: APIClient, authenticator: SoftAuthenticator
) -> None:
    answer = register(user_client, authenticator, name="Work laptop")

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert set(body) == {"id", "name", "created_at", "last_used_at"}
    assert body["name"] == "Work laptop"
    assert body["last_used_at"] is None
    passkey = Passkey.objects.get(pk=body["id"])
    assert passkey.user == user
    assert bytes(passkey.credential_id) == authenticator.credentials[0].credential_id
    assert bytes(passkey.user_handle) == authenticator.credentials[0].user_handle
    assert passkey.backed_up
    assert passkey.transports == ["internal", "hybrid"]
    assert not PasskeyCeremony.objects.exists()
    assert events(user, "passkey_added")[0].target_id == body["id"]


def test_registration_options_follow_the_settings_and_require_user_verification(
    user: User, user_client: APIClient
) -> None:
    options = user_client.post(BEGIN_REGISTER).json()["options"]

    assert options["rp"] == {"id": RP_ID, "name": "Daymark"}
    assert options["user"]["name"] == user.email
    assert options["authenticatorSelection"]["userVerification"] == "required"
    assert options["attestation"] == "none"
    # The WebAuthn user id is 64 random bytes, never the account's id.
    assert len(options["user"]["id"]) == 86
    assert options["user"]["id"] != b64url(user.pk.bytes)
    assert options["timeout"] == 300_000


def test_a_second_registration_keeps_the_user_handle_and_excludes_the_first_passkey(
    user_client: APIClient, registered: Passkey, authenticator: SoftAuthenticator
) -> None:
    options = user_client.post(BEGIN_REGISTER).json()["options"]

    assert options["user"]["id"] == b64url(bytes(registered.user_handle))
    assert [entry["id"] for entry in options["excludeCredentials"]] == [
        b64url(bytes(registered.credential_id))
    ]


def test_registration_without_a_name_gets_a_default_one(
    user_client: APIClient, authenticator: SoftAuthenticator
) -> None:
    assert register(user_client, authenticator, name="  ").json()["name"] == "Passkey"


@pytest.mark.parametrize(
    ("wrong", "why"),
    [
        ({"origin": "https://evil.example"}, "origin"),
        ({"origin": "http://app.daymark.test"}, "origin"),
        ({"rp_id": "evil.example"}, "hash"),
        ({"user_verified": False}, "verif"),
    ],
)
def test_registration_refuses_a_wrong_answer(
    user: User, user_client: APIClient, authenticator: SoftAuthenticator, wrong: dict[str, Any], why: str
) -> None:
    answer = register(user_client, authenticator, **wrong)

    assert answer.status_code == 400
    assert answer.json()["code"] == "validation_error"
    assert why in answer.json()["errors"]["credential"][0].lower()
    assert not Passkey.objects.exists()
    assert not PasskeyCeremony.objects.exists()  # spent either way


def test_a_registration_ceremony_works_once(user_client: APIClient, authenticator: SoftAuthenticator) -> None:
    begun = user_client.post(BEGIN_REGISTER).json()
    credential = authenticator.create(begun["options"], origin=ORIGIN)
    body = {"ceremony": begun["ceremony"], "credential": credential}

    assert user_client.post(FINISH_REGISTER, body).status_code == 201
    replay = user_client.post(FINISH_REGISTER, body)

    assert replay.status_code == 400
    assert "ceremony" in replay.json()["errors"]["credential"][0]
    assert Passkey.objects.count() == 1


def test_another_users_registration_ceremony_is_refused_and_spent(
    user_client: APIClient, other_client: APIClient, authenticator: SoftAuthenticator
) -> None:
    begun = user_client.post(BEGIN_REGISTER).json()
    credential = authenticator.create(begun["options"], origin=ORIGIN)
    body = {"ceremony": begun["ceremony"], "credential": credential}

    assert other_client.post(FINISH_REGISTER, body).status_code == 400
    assert user_client.post(FINISH_REGISTER, body).status_code == 400
    assert not Passkey.objects.exists()


def test_registering_a_credential_id_already_registered_is_refused(
    user_client: APIClient, other_client: APIClient, registered: Passkey
) -> None:
    """Credential ids are unique: a second authenticator claiming one (a broken or hostile client) is
    refused, for the same account or another."""
    for client in (user_client, other_client):
        answer = register(client, SoftAuthenticator(), credential_id=bytes(registered.credential_id))

        assert answer.status_code == 400
        assert "already registered" in answer.json()["errors"]["credential"][0]
    assert Passkey.objects.count() == 1


def test_an_api_key_cannot_add_a_passkey(user: User) -> None:
    _key, secret = api_key_create(user=user, name="ci", scopes=["read", "write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    assert client.post(BEGIN_REGISTER).status_code == 403


def test_registration_needs_a_login(api_client: APIClient) -> None:
    assert api_client.post(BEGIN_REGISTER).status_code == 401
    assert api_client.post(FINISH_REGISTER, {}).status_code == 401


# --- Login ------------------------------------------------------------------------------------------------


def test_a_discoverable_login_answers_a_working_token_pair(
    user: User, registered: Passkey, authenticator: SoftAuthenticator
) -> None:
    client = APIClient()
    options = begin_login(client)["options"]
    assert options["rpId"] == RP_ID
    assert options["userVerification"] == "required"
    assert options.get("allowCredentials", []) == []

    answer = login(client, authenticator)

    assert answer.status_code == 200, answer.content
    tokens = answer.json()
    assert set(tokens) == {"access", "refresh"}
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens['access']}")
    assert client.get(PASSKEYS).json()["results"][0]["id"] == str(registered.pk)
    refreshed = APIClient().post("/api/v1/auth/token/refresh", {"refresh": tokens["refresh"]})
    assert refreshed.status_code == 200
    registered.refresh_from_db()
    assert registered.sign_count == 1
    assert registered.last_used_at is not None
    succeeded = events(user, "login_succeeded")
    assert succeeded
    assert succeeded[0].metadata == {"method": "passkey"}


def test_a_login_with_an_email_names_that_accounts_passkeys(
    user: User, registered: Passkey, authenticator: SoftAuthenticator
) -> None:
    options = begin_login(APIClient(), user.email.upper())["options"]

    assert [entry["id"] for entry in options["allowCredentials"]] == [b64url(bytes(registered.credential_id))]
    assert login(APIClient(), authenticator, user.email).status_code == 200


def test_an_unknown_email_gets_options_like_an_account_with_a_passkey(registered: Passkey) -> None:
    first = begin_login(APIClient(), "nobody@example.com")["options"]
    second = begin_login(APIClient(), "nobody@example.com")["options"]

    assert len(first["allowCredentials"]) == 1
    assert first["allowCredentials"] == second["allowCredentials"]


def test_a_passkey_of_another_account_than_the_email_is_refused(
    registered: Passkey, authenticator: SoftAuthenticator, other_user: User
) -> None:
    client = APIClient()
    begun = begin_login(client, other_user.email)
    credential = authenticator.get(begun["options"], origin=ORIGIN, credential=authenticator.credentials[0])

    answer = client.post(FINISH_LOGIN, {"ceremony": begun["ceremony"], "credential": credential})

    assert answer.status_code == 401


@pytest.mark.parametrize(
    "wrong",
    [
        {"origin": "https://evil.example"},
        {"origin": "https://daymark.test.evil.example"},
        {"rp_id": "evil.example"},
        {"user_verified": False},
    ],
    ids=["origin", "suffix-origin", "rp-id", "no-user-verification"],
)
def test_login_refuses_a_wrong_answer_and_spends_the_ceremony(
    user: User, registered: Passkey, authenticator: SoftAuthenticator, wrong: dict[str, Any]
) -> None:
    client = APIClient()
    begun = begin_login(client)
    bad = authenticator.get(begun["options"], origin=wrong.pop("origin", ORIGIN), **wrong)
    good = authenticator.get(begun["options"], origin=ORIGIN)

    refused = client.post(FINISH_LOGIN, {"ceremony": begun["ceremony"], "credential": bad})
    after = client.post(FINISH_LOGIN, {"ceremony": begun["ceremony"], "credential": good})

    assert refused.status_code == 401
    assert refused.json()["code"] == "authentication_failed"
    assert "WWW-Authenticate" in refused
    assert after.status_code == 401  # the ceremony went with the failure
    failed = events(user, "login_failed")
    assert failed[-1].metadata == {"method": "passkey", "reason": "verification_failed"}


def test_an_android_apps_origin_is_accepted_when_configured(
    registered: Passkey, authenticator: SoftAuthenticator
) -> None:
    assert login(APIClient(), authenticator, origin="android:apk-key-hash:abc123").status_code == 200


def test_a_replayed_login_is_refused(registered: Passkey, authenticator: SoftAuthenticator) -> None:
    client = APIClient()
    begun = begin_login(client)
    body = {"ceremony": begun["ceremony"], "credential": authenticator.get(begun["options"], origin=ORIGIN)}

    assert client.post(FINISH_LOGIN, body).status_code == 200
    assert client.post(FINISH_LOGIN, body).status_code == 401


def test_a_signature_for_another_ceremony_is_refused(
    registered: Passkey, authenticator: SoftAuthenticator
) -> None:
    client = APIClient()
    first, second = begin_login(client), begin_login(client)
    signed_for_first = authenticator.get(first["options"], origin=ORIGIN)

    answer = client.post(FINISH_LOGIN, {"ceremony": second["ceremony"], "credential": signed_for_first})

    assert answer.status_code == 401


def test_a_ceremony_expires_after_five_minutes(registered: Passkey, authenticator: SoftAuthenticator) -> None:
    client = APIClient()
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        late = begin_login(client)
        in_time = begin_login(client)
        traveller.shift(timedelta(minutes=4, seconds=59))
        ok = client.post(
            FINISH_LOGIN,
            {
                "ceremony": in_time["ceremony"],
                "credential": authenticator.get(in_time["options"], origin=ORIGIN),
            },
        )
        traveller.shift(timedelta(seconds=2))
        expired = client.post(
            FINISH_LOGIN,
            {"ceremony": late["ceremony"], "credential": authenticator.get(late["options"], origin=ORIGIN)},
        )

    assert ok.status_code == 200
    assert expired.status_code == 401
    failed = AuditEvent.objects.get(event="login_failed")
    assert failed.user is None
    assert failed.metadata["reason"] == "ceremony_invalid"


def test_an_expired_registration_ceremony_is_refused(user: User, authenticator: SoftAuthenticator) -> None:
    user_client = APIClient()
    user_client.force_authenticate(user)  # an access token would expire with the ceremony
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        begun = user_client.post(BEGIN_REGISTER).json()
        traveller.shift(timedelta(minutes=5, seconds=1))
        credential = authenticator.create(begun["options"], origin=ORIGIN)
        answer = user_client.post(FINISH_REGISTER, {"ceremony": begun["ceremony"], "credential": credential})

    assert answer.status_code == 400
    assert not Passkey.objects.exists()


def test_pruning_deletes_only_expired_ceremonies(user_client: APIClient) -> None:
    with time_machine.travel(timezone.now(), tick=False) as traveller:
        begin_login(APIClient())
        traveller.shift(timedelta(minutes=3))
        fresh = begin_login(APIClient())
        traveller.shift(timedelta(minutes=2, seconds=1))

        assert passkey_ceremonies_prune(timezone.now()) == 1
        assert passkey_ceremonies_prune(timezone.now()) == 0
    assert list(PasskeyCeremony.objects.values_list("pk", flat=True)) == [uuid.UUID(fresh["ceremony"])]


def test_a_deleted_passkey_no_longer_logs_in(
    user: User, user_client: APIClient, registered: Passkey, authenticator: SoftAuthenticator
) -> None:
    assert user_client.delete(f"{PASSKEYS}/{registered.pk}").status_code == 204

    answer = login(APIClient(), authenticator)

    assert answer.status_code == 401
    assert AuditEvent.objects.filter(event="login_failed").first().metadata["reason"] == "passkey_unknown"  # type: ignore[union-attr]
    assert events(user, "passkey_deleted")[0].target_id == str(registered.pk)


def test_a_deactivated_user_cannot_log_in_with_a_passkey(
    user: User, registered: Passkey, authenticator: SoftAuthenticator
) -> None:
    User.objects.filter(pk=user.pk).update(is_active=False)

    assert login(APIClient(), authenticator).status_code == 401


def test_a_user_handle_that_is_not_the_passkeys_is_refused(
    registered: Passkey, authenticator: SoftAuthenticator
) -> None:
    authenticator.credentials[0].user_handle = b"someone else" * 4

    assert login(APIClient(), authenticator).status_code == 401


def test_a_sign_count_that_goes_back_is_refused_and_audited(
    user: User, registered: Passkey, authenticator: SoftAuthenticator
) -> None:
    assert login(APIClient(), authenticator, sign_count=7).status_code == 200

    cloned = login(APIClient(), authenticator, sign_count=7)
    older = login(APIClient(), authenticator, sign_count=3)

    assert (cloned.status_code, older.status_code) == (401, 401)
    registered.refresh_from_db()
    assert registered.sign_count == 7
    assert [e.metadata["stored"] for e in events(user, "passkey_sign_count_regressed")] == [7, 7]
    assert login(APIClient(), authenticator, sign_count=8).status_code == 200


def test_an_authenticator_without_a_counter_logs_in_every_time(
    user_client: APIClient,
) -> None:
    synced = SoftAuthenticator(counter_step=0)
    assert register(user_client, synced).status_code == 201

    assert [login(APIClient(), synced).status_code for _ in range(3)] == [200, 200, 200]
    assert Passkey.objects.get().sign_count == 0


# --- Limits -----------------------------------------------------------------------------------------------


def test_passkey_logins_share_the_per_ip_budget_of_auth_token(
    settings: Any, user: User, registered: Passkey, authenticator: SoftAuthenticator
) -> None:
    settings.RATE_LIMIT_TOKEN_PER_IP = "4/m"
    client = APIClient()
    password = {"email": user.email, "password": DEFAULT_PASSWORD}

    assert client.post("/api/v1/auth/token", password).status_code == 200  # 1
    assert login(client, authenticator).status_code == 200  # 2 and 3: begin and finish
    assert client.post(BEGIN_LOGIN, {}).status_code == 200  # 4
    limited = client.post(FINISH_LOGIN, {"ceremony": str(uuid.uuid4()), "credential": {}})

    assert limited.status_code == 429
    assert limited.json()["code"] == "rate_limited"
    assert "Retry-After" in limited
    assert client.post("/api/v1/auth/token", password).status_code == 429
    assert AuditEvent.objects.filter(event="rate_limited", target_id=FINISH_LOGIN).count() == 1


def test_failed_passkey_logins_spend_the_accounts_failure_budget(
    settings: Any, user: User, registered: Passkey, authenticator: SoftAuthenticator
) -> None:
    settings.RATE_LIMIT_TOKEN_PER_EMAIL = "3/m"
    settings.RATE_LIMIT_TOKEN_PER_IP = "100/m"
    client = APIClient()
    failures = [login(client, authenticator, user_verified=False).status_code for _ in range(4)]

    assert failures == [401, 401, 401, 429]
    # The account's budget is the one a password login spends too.
    assert (
        client.post("/api/v1/auth/token", {"email": user.email, "password": DEFAULT_PASSWORD}).status_code
        == 429
    )


# --- Bad input --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"ceremony": "not-a-uuid", "credential": {}},
        {"ceremony": 12, "credential": {}},
        {"ceremony": "00000000-0000-0000-0000-000000000000", "credential": "a string"},
        {"ceremony": "00000000-0000-0000-0000-000000000000", "credential": [1, 2]},
        {"ceremony": "00000000-0000-0000-0000-000000000000", "credential": {}, "extra": 1},
        {"ceremony": "00000000-0000-0000-0000-000000000000", "credential": {}, "name": "x" * 101},
        {"ceremony": "00000000-0000-0000-0000-000000000000", "credential": {}, "name": 5},
    ],
)
def test_bad_registration_bodies_are_400(user_client: APIClient, body: dict[str, Any]) -> None:
    answer = user_client.post(FINISH_REGISTER, body)

    assert answer.status_code == 400
    assert answer.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    "credential",
    [
        {},
        {"id": "x", "rawId": "x", "type": "public-key", "response": {}},
        {"id": "!!", "rawId": "!!", "type": "public-key", "response": {"clientDataJSON": "%%"}},
        {
            "id": "AA",
            "rawId": "AA",
            "type": "public-key",
            "response": {"clientDataJSON": "AA", "attestationObject": "AAAA", "transports": 5},
        },
        {
            "id": "AA",
            "rawId": "AA",
            "type": "public-key",
            "response": {"clientDataJSON": "e30", "attestationObject": b64url(b"\xa1\x00\x00")},
        },
    ],
)
def test_garbage_credentials_are_400_at_registration(
    user_client: APIClient, credential: dict[str, Any]
) -> None:
    begun = user_client.post(BEGIN_REGISTER).json()

    answer = user_client.post(FINISH_REGISTER, {"ceremony": begun["ceremony"], "credential": credential})

    assert answer.status_code == 400
    assert answer.json()["code"] == "validation_error"


@pytest.mark.parametrize(
    "credential",
    [
        {},
        {"id": "x", "rawId": "x", "type": "public-key", "response": {}},
        {
            "id": "AA",
            "rawId": "AA",
            "type": "public-key",
            "response": {
                "clientDataJSON": "AA",
                "authenticatorData": "AA",
                "signature": "AA",
                "userHandle": "%",
            },
        },
        {
            "id": "AA",
            "rawId": "",
            "type": "public-key",
            "response": {"clientDataJSON": "AA", "authenticatorData": "AA", "signature": "AA"},
        },
        {
            "id": "AA",
            "rawId": "AA",
            "type": "public-key",
            "response": {
                "clientDataJSON": "AA",
                "authenticatorData": "AA",
                "signature": "AA",
                "userHandle": 5,
            },
        },
    ],
)
def test_garbage_credentials_are_401_at_login(
    registered: Passkey, authenticator: SoftAuthenticator, credential: dict[str, Any]
) -> None:
    client = APIClient()
    begun = begin_login(client)

    answer = client.post(FINISH_LOGIN, {"ceremony": begun["ceremony"], "credential": credential})

    assert answer.status_code == 401
    assert answer.json()["code"] == "authentication_failed"


def test_a_garbled_signature_from_a_known_passkey_is_401(
    registered: Passkey, authenticator: SoftAuthenticator
) -> None:
    client = APIClient()
    begun = begin_login(client)
    credential = authenticator.get(begun["options"], origin=ORIGIN)
    credential["response"]["signature"] = b64url(b"\x30\x02\x00\x00")
    also_bad = dict(credential, response={**credential["response"], "authenticatorData": "AAAA"})

    assert (
        client.post(FINISH_LOGIN, {"ceremony": begun["ceremony"], "credential": credential}).status_code
        == 401
    )
    begun = begin_login(client)
    assert (
        client.post(FINISH_LOGIN, {"ceremony": begun["ceremony"], "credential": also_bad}).status_code == 401
    )


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not an email"},
        {"email": 5},
        {"email": "a@b.c", "other": 1},
        {"email": "x" * 300 + "@example.com"},
        ["a list"],
    ],
)
def test_bad_login_begin_bodies_are_400(api_client: APIClient, body: Any) -> None:
    answer = api_client.post(BEGIN_LOGIN, body, format="json")

    assert answer.status_code == 400
    assert not PasskeyCeremony.objects.exists()


def test_a_login_finish_body_that_is_not_json_is_400(api_client: APIClient) -> None:
    answer = api_client.post(FINISH_LOGIN, "{nope", content_type="application/json")

    assert answer.status_code == 400
    assert answer.json()["code"] == "parse_error"


# --- The caller's passkeys ----------------------------------------------------------------------------------


def test_the_list_shows_the_callers_passkeys_newest_first_in_two_queries(
    user: User,
    user_client: APIClient,
    other_client: APIClient,
    django_assert_num_queries: Any,
) -> None:
    phone, laptop = SoftAuthenticator(), SoftAuthenticator()
    register(user_client, phone, name="Phone")
    register(user_client, laptop, name="Laptop")
    register(other_client, SoftAuthenticator(), name="Not yours")

    # The user of the access token is cached (by the requests above): 1: one page of passkeys.
    with django_assert_num_queries(1):
        answer = user_client.get(PASSKEYS)

    assert answer.status_code == 200
    assert [entry["name"] for entry in answer.json()["results"]] == ["Laptop", "Phone"]
    assert set(answer.json()["results"][0]) == {"id", "name", "created_at", "last_used_at"}


def test_a_passkey_is_renamed(user: User, user_client: APIClient, registered: Passkey) -> None:
    answer = user_client.patch(f"{PASSKEYS}/{registered.pk}", {"name": "  Old phone "})

    assert answer.status_code == 200
    assert answer.json()["name"] == "Old phone"
    registered.refresh_from_db()
    assert registered.name == "Old phone"
    assert events(user, "passkey_renamed")[0].metadata == {"name": "Old phone", "previous_name": "My phone"}


@pytest.mark.parametrize("body", [{}, {"name": ""}, {"name": "x" * 101}, {"name": 3}, {"name": "a", "x": 1}])
def test_a_bad_rename_is_400(user_client: APIClient, registered: Passkey, body: dict[str, Any]) -> None:
    assert user_client.patch(f"{PASSKEYS}/{registered.pk}", body).status_code == 400
    registered.refresh_from_db()
    assert registered.name == "My phone"


def test_another_users_passkey_is_404(other_client: APIClient, registered: Passkey) -> None:
    url = f"{PASSKEYS}/{registered.pk}"

    assert other_client.patch(url, {"name": "mine now"}).status_code == 404
    assert other_client.delete(url).status_code == 404
    assert other_client.get(PASSKEYS).json()["results"] == []
    assert Passkey.objects.filter(pk=registered.pk, name="My phone").exists()


def test_an_unknown_passkey_is_404(user_client: APIClient) -> None:
    assert user_client.delete(f"{PASSKEYS}/00000000-0000-0000-0000-000000000000").status_code == 404
    assert user_client.delete(f"{PASSKEYS}/not-a-uuid").status_code == 404


def test_an_api_key_can_list_but_not_change_passkeys(user: User, registered: Passkey) -> None:
    _key, secret = api_key_create(user=user, name="ci", scopes=["read", "write"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {secret}")

    assert client.get(PASSKEYS).status_code == 200
    assert client.delete(f"{PASSKEYS}/{registered.pk}").status_code == 403
    assert client.patch(f"{PASSKEYS}/{registered.pk}", {"name": "x"}).status_code == 403


def test_deleting_the_account_deletes_its_passkeys(user: User, registered: Passkey) -> None:
    client = client_for(user)
    assert client.delete("/api/v1/user", {"password": DEFAULT_PASSWORD}).status_code == 204
    assert not Passkey.objects.exists()


def test_a_user_factory_made_user_has_no_passkeys() -> None:
    assert not UserFactory.create().passkeys.exists()
