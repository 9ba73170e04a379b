"""Verifying MailPass's webhook deliveries (Standard Webhooks signatures).

A delivery carries ``webhook-id``, ``webhook-timestamp`` (Unix seconds) and
``webhook-signature``: one or more space-separated ``v1,<base64 HMAC-SHA256>`` of
``"{id}.{timestamp}.{body}"`` under the secret's base64-decoded bytes (after ``whsec_``).
During a secret rotation the header carries one signature per secret.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Mapping
from typing import Any

from mailpass_client.errors import MailPassError

DEFAULT_TOLERANCE_SECONDS = 300


class WebhookVerificationError(MailPassError):
    """The request is not a genuine, fresh delivery signed with this secret."""


class Webhook:
    def __init__(self, secret: str, *, tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS):
        try:
            self._key = base64.b64decode(secret.removeprefix("whsec_"), validate=True)
        except binascii.Error as exc:
            raise ValueError("Not a webhook secret (whsec_...)") from exc
        self.tolerance_seconds = tolerance_seconds

    def sign(self, webhook_id: str, timestamp: int, body: bytes | str) -> str:
        raw = body.encode() if isinstance(body, str) else body
        signed = f"{webhook_id}.{timestamp}.".encode() + raw
        digest = hmac.new(self._key, signed, hashlib.sha256).digest()
        return "v1," + base64.b64encode(digest).decode()

    def verify(
        self, body: bytes | str, headers: Mapping[str, str], *, now: float | None = None
    ) -> Any:
        """The delivery's JSON payload, once its signature and timestamp check out."""
        lowered = {k.lower(): v for k, v in headers.items()}
        webhook_id = lowered.get("webhook-id")
        stamp = lowered.get("webhook-timestamp")
        signatures = lowered.get("webhook-signature")
        if not webhook_id or not stamp or not signatures:
            raise WebhookVerificationError("Missing webhook-id, -timestamp or -signature header")
        try:
            timestamp = int(stamp)
        except ValueError as exc:
            raise WebhookVerificationError("Invalid webhook-timestamp") from exc
        current = time.time() if now is None else now
        if abs(current - timestamp) > self.tolerance_seconds:
            raise WebhookVerificationError("Timestamp outside the tolerance: a replay?")
        expected = self.sign(webhook_id, timestamp, body)
        if not any(hmac.compare_digest(expected, s) for s in signatures.split()):
            raise WebhookVerificationError("No signature matches this secret")
        return json.loads(body)
