"""The passkey settings are checked: origins outside the relying party's domain always, development
values with DEBUG off by `check --deploy`."""

from __future__ import annotations

from typing import Any

import pytest

from accounts.checks import check_passkey_origins, check_passkey_relying_party


@pytest.mark.parametrize(
    "origins",
    [
        ["https://example.com"],
        ["https://app.example.com", "https://www.example.com:8443"],
        ["android:apk-key-hash:abc123"],
    ],
)
def test_origins_on_the_relying_partys_domain_pass(settings: Any, origins: list[str]) -> None:
    settings.PASSKEYS_RP_ID = "example.com"
    settings.PASSKEYS_ORIGINS = origins

    assert check_passkey_origins(None) == []


@pytest.mark.parametrize("origin", ["https://example.org", "https://notexample.com", "https://com"])
def test_an_origin_outside_the_relying_partys_domain_is_an_error(settings: Any, origin: str) -> None:
    settings.PASSKEYS_RP_ID = "example.com"
    settings.PASSKEYS_ORIGINS = ["https://app.example.com", origin]

    assert [message.id for message in check_passkey_origins(None)] == ["accounts.E002"]


def test_development_values_are_flagged_when_debug_is_off(settings: Any) -> None:
    settings.DEBUG = False
    settings.PASSKEYS_RP_ID = "localhost"
    settings.PASSKEYS_ORIGINS = ["http://localhost:8000"]

    assert [message.id for message in check_passkey_relying_party(None)] == ["accounts.W002", "accounts.W003"]

    settings.DEBUG = True
    assert check_passkey_relying_party(None) == []


def test_production_values_pass_the_deploy_check(settings: Any) -> None:
    settings.DEBUG = False
    settings.PASSKEYS_RP_ID = "example.com"
    settings.PASSKEYS_ORIGINS = ["https://app.example.com", "android:apk-key-hash:abc"]

    assert check_passkey_relying_party(None) == []
