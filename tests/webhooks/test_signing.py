"""Signatures made here verify with the Standard Webhooks reference library."""

from __future__ import annotations

import time

import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from mailpass_common.webhooks.signing import generate_secret, signed_headers


def test_a_signature_verifies_with_the_reference_library() -> None:
    secret = generate_secret()
    assert secret.startswith("whsec_")
    body = b'{"type":"sent","data":{"message_id":"<a@b>"}}'
    headers = signed_headers([secret], "msg_1", int(time.time()), body)
    assert Webhook(secret).verify(body, headers) == {
        "type": "sent",
        "data": {"message_id": "<a@b>"},
    }


def test_during_a_rotation_either_secret_verifies() -> None:
    old, new = generate_secret(), generate_secret()
    body = b'{"type":"open"}'
    headers = signed_headers([new, old], "msg_2", int(time.time()), body)
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (old, new):
        Webhook(secret).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(generate_secret()).verify(body, headers)


def test_a_changed_body_does_not_verify() -> None:
    secret = generate_secret()
    headers = signed_headers([secret], "msg_3", int(time.time()), b'{"a":1}')
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(b'{"a":2}', headers)
