"""Passkeys (WebAuthn, with py_webauthn): registering one, logging in with one, renaming and deleting.

Both ceremonies are two steps. `begin` stores a challenge (accounts/services/passkey_ceremonies.py) and
answers the options for the authenticator; `finish` consumes that challenge first and then verifies the
authenticator's answer against it, the relying party id and the allowed origins of the settings (never
the request's Host). User verification (the device's PIN or biometrics) is required both times: a passkey
replaces the password, so it must prove the person as well as the device.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import (
    options_to_json_dict,
    parse_authentication_credential_json,
    parse_registration_credential_json,
)
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from accounts.audit import audit_record
from accounts.models import AuditEvent, Passkey, User
from accounts.services.passkey_ceremonies import Purpose, ceremony_begin, ceremony_consume
from accounts.services.sessions import session_tokens

Event = AuditEvent.Event

# What py_webauthn and the CBOR/base64 decoders below it raise on an answer they cannot read: every one of
# them is a refused credential, never a server error.
_UNREADABLE = (WebAuthnException, ValueError, TypeError, KeyError, IndexError, AttributeError, OverflowError)


class PasskeyRefused(Exception):
    """A ceremony that did not prove what it should; `reason` is for the audit log and the answer."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Attempt(Protocol):
    def succeeded(self) -> None: ...


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    transports = []
    for name in passkey.transports:
        try:
            transports.append(AuthenticatorTransport(name))
        except ValueError:  # a transport newer than the library: the hint is optional
            continue
    return PublicKeyCredentialDescriptor(id=bytes(passkey.credential_id), transports=transports or None)


def _user_handle(user: User) -> bytes:
    """The WebAuthn user id of `user`: the one of their passkeys if they have any (an authenticator keeps
    one credential per user id), else 64 new random bytes. Never the database id."""
    existing = Passkey.objects.filter(user=user).values_list("user_handle", flat=True).first()
    return bytes(existing) if existing is not None else secrets.token_bytes(64)


# --- Registration -----------------------------------------------------------------------------------------


def passkey_registration_begin(*, user: User) -> tuple[uuid.UUID, dict[str, Any]]:
    """Starts adding a passkey to `user`: the ceremony id and the creation options (JSON-ready)."""
    handle = _user_handle(user)
    ceremony = ceremony_begin(purpose=Purpose.REGISTER, user=user, user_handle=handle)
    options = generate_registration_options(
        rp_id=settings.PASSKEYS_RP_ID,
        rp_name=settings.PASSKEYS_RP_NAME,
        user_name=user.email,
        user_id=handle,
        user_display_name=user.display_name or user.email,
        challenge=bytes(ceremony.challenge),
        timeout=settings.PASSKEYS_CEREMONY_SECONDS * 1000,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.REQUIRED,
        ),
        # The user's passkeys: an authenticator that holds one of them refuses to make a second.
        exclude_credentials=[_descriptor(passkey) for passkey in Passkey.objects.filter(user=user)],
    )
    return ceremony.pk, options_to_json_dict(options)


def passkey_register(
    *, user: User, ceremony_id: uuid.UUID, credential: dict[str, Any], name: str = ""
) -> Passkey:
    """Finishes adding a passkey; raises PasskeyRefused (the ceremony is spent either way)."""
    ceremony = ceremony_consume(ceremony_id=ceremony_id, purpose=Purpose.REGISTER)
    if ceremony is None or ceremony.user_id != user.pk or not ceremony.user_handle:
        raise PasskeyRefused("The ceremony is unknown, expired or already used.")
    try:
        parsed = parse_registration_credential_json(credential)
        verified = verify_registration_response(
            credential=parsed,
            expected_challenge=bytes(ceremony.challenge),
            expected_rp_id=settings.PASSKEYS_RP_ID,
            expected_origin=list(settings.PASSKEYS_ORIGINS),
            require_user_verification=True,
        )
    except _UNREADABLE as error:
        raise PasskeyRefused(f"The credential was not accepted: {error}") from error
    transports = [getattr(t, "value", str(t)) for t in (parsed.response.transports or [])][:10]
    try:
        with transaction.atomic():
            passkey = Passkey.objects.create(
                user=user,
                name=name.strip() or "Passkey",
                credential_id=verified.credential_id,
                public_key=verified.credential_public_key,
                user_handle=bytes(ceremony.user_handle),
                sign_count=verified.sign_count,
                aaguid=verified.aaguid,
                transports=transports,
                backed_up=verified.credential_backed_up,
            )
            audit_record(
                event=Event.PASSKEY_ADDED,
                user=user,
                target_type="passkey",
                target_id=str(passkey.pk),
                metadata={"name": passkey.name, "aaguid": passkey.aaguid, "backed_up": passkey.backed_up},
            )
    except IntegrityError as error:  # the credential id is unique: this passkey is registered already
        raise PasskeyRefused("This passkey is already registered.") from error
    return passkey


# --- Login ------------------------------------------------------------------------------------------------


def _decoy_credential(email: str) -> PublicKeyCredentialDescriptor:
    """A credential id for an email with no passkey, the same on every call: the options for an unknown
    email look like those of an account with one passkey, so they do not tell who has an account."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"passkey-decoy:{email}".encode(), hashlib.sha256)
    return PublicKeyCredentialDescriptor(id=digest.digest())


def passkey_login_begin(*, email: str | None) -> tuple[uuid.UUID, dict[str, Any]]:
    """Starts a login: with an email, the options name that account's passkeys; without one, any
    discoverable passkey of this relying party may answer (the authenticator says whose it is)."""
    user = None
    allowed: list[PublicKeyCredentialDescriptor] | None = None
    if email:
        account = User.objects.normalize_email(email)
        user = User.objects.filter(email=account, is_active=True).first()
        passkeys = list(Passkey.objects.filter(user=user)) if user is not None else []
        allowed = [_descriptor(passkey) for passkey in passkeys] or [_decoy_credential(account)]
    ceremony = ceremony_begin(purpose=Purpose.LOGIN, user=user)
    options = generate_authentication_options(
        rp_id=settings.PASSKEYS_RP_ID,
        challenge=bytes(ceremony.challenge),
        timeout=settings.PASSKEYS_CEREMONY_SECONDS * 1000,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    return ceremony.pk, options_to_json_dict(options)


def _login_failed(reason: str, passkey: Passkey | None = None) -> PasskeyRefused:
    audit_record(
        event=Event.LOGIN_FAILED,
        user=passkey.user if passkey is not None else None,
        target_type="passkey" if passkey is not None else "",
        target_id=str(passkey.pk) if passkey is not None else "",
        metadata={"method": "passkey", "reason": reason},
    )
    return PasskeyRefused(reason)


def passkey_login(
    *,
    ceremony_id: uuid.UUID,
    credential: dict[str, Any],
    start_attempt: Callable[[User], Attempt] | None = None,
) -> dict[str, str]:
    """Finishes a login: the session tokens of the passkey's user, as a password login answers them.
    Raises PasskeyRefused (audited; the ceremony is spent either way). `start_attempt(user)` is called once
    the account is known and before the signature is checked (the login limits of accounts/login_limits);
    its `succeeded()` after a valid one."""
    ceremony = ceremony_consume(ceremony_id=ceremony_id, purpose=Purpose.LOGIN)
    if ceremony is None:
        raise _login_failed("ceremony_invalid")
    try:
        parsed = parse_authentication_credential_json(credential)
    except _UNREADABLE as error:
        raise _login_failed("credential_unreadable") from error
    passkey = (
        Passkey.objects.select_related("user").filter(credential_id=parsed.raw_id).first()
        if parsed.raw_id
        else None
    )
    if passkey is None:
        raise _login_failed("passkey_unknown")
    user = passkey.user
    if ceremony.user_id is not None and ceremony.user_id != user.pk:
        raise _login_failed("passkey_of_another_account", passkey)
    handle = parsed.response.user_handle
    if handle is not None and not hmac.compare_digest(bytes(handle), bytes(passkey.user_handle)):
        raise _login_failed("user_handle_mismatch", passkey)
    if not user.is_active:
        raise _login_failed("user_inactive", passkey)
    attempt = start_attempt(user) if start_attempt is not None else None
    try:
        verified = verify_authentication_response(
            credential=parsed,
            expected_challenge=bytes(ceremony.challenge),
            expected_rp_id=settings.PASSKEYS_RP_ID,
            expected_origin=list(settings.PASSKEYS_ORIGINS),
            credential_public_key=bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=True,
        )
    except _UNREADABLE as error:
        # py_webauthn refuses a count that did not grow (its message is the only way to tell why).
        if "sign count" in str(error).lower():
            _sign_count_regressed(passkey, reported=None)
        raise _login_failed("verification_failed", passkey) from error
    if not _note_use(passkey, verified.new_sign_count, timezone.now()):
        _sign_count_regressed(passkey, reported=verified.new_sign_count)
        raise _login_failed("verification_failed", passkey)
    if attempt is not None:
        attempt.succeeded()
    audit_record(
        event=Event.LOGIN_SUCCEEDED,
        user=user,
        target_type="passkey",
        target_id=str(passkey.pk),
        metadata={"method": "passkey"},
    )
    return session_tokens(user=user)


def _note_use(passkey: Passkey, sign_count: int, now: datetime) -> bool:
    """Stores the new signature counter and the time of use. A counter must only grow (an authenticator
    that keeps none always says 0): the conditional UPDATE refuses a count that another login raised past
    meanwhile, so of two answers with one count only the first is taken."""
    grows = {"sign_count__lt": sign_count} if sign_count > 0 else {"sign_count": 0}
    rows = Passkey.objects.filter(pk=passkey.pk, **grows)
    return rows.update(sign_count=sign_count, last_used_at=now) == 1


def _sign_count_regressed(passkey: Passkey, *, reported: int | None) -> None:
    """A counter that went back: the signal of a cloned authenticator, for staff to look into."""
    audit_record(
        event=Event.PASSKEY_SIGN_COUNT_REGRESSED,
        user=passkey.user,
        target_type="passkey",
        target_id=str(passkey.pk),
        metadata={"stored": passkey.sign_count, "reported": reported},
    )


# --- Management -------------------------------------------------------------------------------------------


def passkey_rename(*, user: User, passkey: Passkey, name: str) -> Passkey:
    with transaction.atomic():
        locked = Passkey.objects.select_for_update().get(pk=passkey.pk, user=user)
        if locked.name != name:
            old = locked.name
            locked.name = name
            locked.save(update_fields=["name"])
            audit_record(
                event=Event.PASSKEY_RENAMED,
                user=user,
                target_type="passkey",
                target_id=str(locked.pk),
                metadata={"name": name, "previous_name": old},
            )
    return locked


def passkey_delete(*, user: User, passkey: Passkey, by_staff: User | None = None) -> None:
    """The passkey stops logging in at once; sessions it opened stay (logout-all ends those). Staff delete
    one from the admin (a lost device); the event names them."""
    with transaction.atomic():
        deleted = Passkey.objects.filter(pk=passkey.pk, user=user).delete()[0]
        if deleted:
            metadata: dict[str, Any] = {"name": passkey.name}
            if by_staff is not None:
                metadata["deleted_by"] = by_staff.email
            audit_record(
                event=Event.PASSKEY_DELETED,
                user=user,
                target_type="passkey",
                target_id=str(passkey.pk),
                metadata=metadata,
            )
