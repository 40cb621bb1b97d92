"""A software WebAuthn authenticator for the tests, in the spirit of `soft-webauthn` (which cannot be
installed beside webauthn 3: its fido2<2 needs cryptography<45). It makes ES256 credentials with
`cryptography`, answers registrations with attestation "none" (authenticator data and the attestation
object in CBOR with `cbor2`) and logins with a signature over the authenticator data and the hash of the
client data, exactly as a browser hands them to `PublicKeyCredential.toJSON()`.

Everything a test wants to get wrong is a parameter: the origin the "browser" reports, the relying party id
whose hash goes into the authenticator data, whether the user was verified, and the signature counter.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_USER_PRESENT = 0x01
FLAG_USER_VERIFIED = 0x04
FLAG_BACKUP_ELIGIBLE = 0x08
FLAG_BACKED_UP = 0x10
FLAG_ATTESTED_CREDENTIAL = 0x40
# COSE: key type EC2, algorithm ES256 (-7), curve P-256; x and y coordinates.
COSE_KTY, COSE_ALG, COSE_CRV, COSE_X, COSE_Y = 1, 3, -1, -2, -3


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class StoredCredential:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        return cbor2.dumps(
            {
                COSE_KTY: 2,
                COSE_ALG: -7,
                COSE_CRV: 1,
                COSE_X: numbers.x.to_bytes(32, "big"),
                COSE_Y: numbers.y.to_bytes(32, "big"),
            }
        )


@dataclass
class SoftAuthenticator:
    """One authenticator (a phone, a security key) holding discoverable credentials. `counter_step` is how
    much its signature counter grows per use: 1 like a security key, 0 like most synced passkeys."""

    aaguid: bytes = bytes(16)
    counter_step: int = 1
    credentials: list[StoredCredential] = field(default_factory=list)

    # --- navigator.credentials.create() -----------------------------------------------------------------

    def create(
        self,
        options: dict[str, Any],
        *,
        origin: str,
        rp_id: str | None = None,
        user_verified: bool = True,
        credential_id: bytes | None = None,
    ) -> dict[str, Any]:
        """The registration answer to the creation options (as JSON) a server sent."""
        rp_id = rp_id or options["rp"]["id"]
        stored = StoredCredential(
            credential_id=credential_id or os.urandom(32),
            private_key=ec.generate_private_key(ec.SECP256R1()),
            rp_id=rp_id,
            user_handle=unb64url(options["user"]["id"]),
        )
        attested = (
            self.aaguid
            + struct.pack(">H", len(stored.credential_id))
            + stored.credential_id
            + stored.cose_public_key()
        )
        flags = FLAG_USER_PRESENT | FLAG_ATTESTED_CREDENTIAL | FLAG_BACKUP_ELIGIBLE | FLAG_BACKED_UP
        if user_verified:
            flags |= FLAG_USER_VERIFIED
        auth_data = self._auth_data(rp_id, flags, stored.sign_count) + attested
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        self.credentials.append(stored)
        return {
            "id": b64url(stored.credential_id),
            "rawId": b64url(stored.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal", "hybrid"],
            },
        }

    # --- navigator.credentials.get() --------------------------------------------------------------------

    def get(
        self,
        options: dict[str, Any],
        *,
        origin: str,
        rp_id: str | None = None,
        user_verified: bool = True,
        sign_count: int | None = None,
        credential: StoredCredential | None = None,
    ) -> dict[str, Any]:
        """The login answer to the request options (as JSON) a server sent: signed by `credential`, else by
        the credential the options allow (or, with none named, this relying party's first one)."""
        stored = credential or self._pick(options)
        if sign_count is None:
            stored.sign_count += self.counter_step
            sign_count = stored.sign_count
        flags = FLAG_USER_PRESENT | FLAG_BACKUP_ELIGIBLE | FLAG_BACKED_UP
        if user_verified:
            flags |= FLAG_USER_VERIFIED
        auth_data = self._auth_data(rp_id or stored.rp_id, flags, sign_count)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = stored.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(stored.credential_id),
            "rawId": b64url(stored.credential_id),
            "type": "public-key",
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(stored.user_handle),
            },
        }

    def _pick(self, options: dict[str, Any]) -> StoredCredential:
        allowed = {unb64url(entry["id"]) for entry in options.get("allowCredentials") or []}
        for stored in self.credentials:
            if stored.rp_id == options["rpId"] and (not allowed or stored.credential_id in allowed):
                return stored
        raise LookupError("no credential of this authenticator answers these options")

    @staticmethod
    def _auth_data(rp_id: str, flags: int, sign_count: int) -> bytes:
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", sign_count)

    @staticmethod
    def _client_data(kind: str, challenge: str, origin: str) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin, "crossOrigin": False},
            separators=(",", ":"),
        ).encode()
