"""Standard Webhooks secrets and signatures (https://www.standardwebhooks.com): `whsec_` and 32 random bytes
in base64; `webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">`, made by the
`standardwebhooks` library itself, so what consumers verify with it is what we sign with."""

from __future__ import annotations

import base64
import secrets
from datetime import datetime

from standardwebhooks.webhooks import Webhook

SECRET_PREFIX = "whsec_"


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def signer(secret: str) -> Webhook:
    """The signer of one endpoint (decodes its secret once; a batch signs many deliveries with it)."""
    return Webhook(secret)


def headers(signing: Webhook, *, webhook_id: str, at: datetime, body: str) -> dict[str, str]:
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signing.sign(msg_id=webhook_id, timestamp=at, data=body),
    }
