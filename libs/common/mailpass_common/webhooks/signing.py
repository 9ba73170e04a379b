"""Signatures as the Standard Webhooks specification defines them (standardwebhooks.com).

Each request carries ``webhook-id`` (the message id, ``msg_…``, the same on every retry
so that receivers can drop duplicates), ``webhook-timestamp`` (Unix seconds of this
attempt) and ``webhook-signature``: ``v1,<base64 HMAC-SHA256>`` of
``"{id}.{timestamp}.{body}"`` under the secret's base64-decoded bytes (the part after
``whsec_``). While a rotated-out secret is still in its overlap, the header carries one
signature per secret, space-separated, so a receiver holding either verifies.
``tests/webhooks`` verifies them with the reference library (``standardwebhooks``).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Sequence

SECRET_PREFIX = "whsec_"
SECRET_BYTES = 24  # as the reference implementations generate them


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def signature(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(
    secrets_: Sequence[str], webhook_id: str, timestamp: int, body: bytes
) -> dict[str, str]:
    """The three headers of one attempt, signed with every secret given (current first)."""
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": " ".join(signature(s, webhook_id, timestamp, body) for s in secrets_),
    }
