"""Standard Webhooks signatures (the `standardwebhooks` reference library) and the secrets they use.

The secret is `whsec_` + base64 of 24 to 64 random bytes; the signature is `v1,<base64 HMAC-SHA256 of
"{webhook-id}.{webhook-timestamp}.{body}">` keyed by the decoded bytes.
"""

from __future__ import annotations

import base64
import binascii
import secrets
from datetime import datetime

from standardwebhooks import Webhook as Signer

from hub.errors import InvalidWebhookSecret

SECRET_PREFIX = "whsec_"
SECRET_BYTES = (24, 64)  # the specification's range
NEW_SECRET_BYTES = 32


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(NEW_SECRET_BYTES)).decode()


def check_secret(secret: str) -> str:
    """A secret a publisher chose: the prefix, then base64 of 24 to 64 bytes."""
    if not secret.startswith(SECRET_PREFIX):
        raise InvalidWebhookSecret(f"A webhook secret starts with {SECRET_PREFIX!r} followed by base64.")
    encoded = secret.removeprefix(SECRET_PREFIX)
    try:
        key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
    except (binascii.Error, ValueError):
        raise InvalidWebhookSecret(f"The part after {SECRET_PREFIX!r} is not valid base64.") from None
    low, high = SECRET_BYTES
    if not low <= len(key) <= high:
        raise InvalidWebhookSecret(f"A webhook secret holds {low} to {high} bytes; this one decodes to {len(key)}.")
    return secret


def signed_headers(secret: str, message_id: str, body: str, at: datetime) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt made at `at` (a UTC datetime)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, at, body),
    }
