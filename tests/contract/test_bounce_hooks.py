"""Provider event hooks: SES through SNS (signature verified with a locally made
certificate the operator setting trusts), SendGrid's signed Event Webhook (ECDSA) and
Mailgun's (HMAC); against the real gateway and database."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from fastapi import FastAPI
from fastapi.responses import Response

from mailpass_common.platform.db import Database
from mailpass_common.providers.sns import sns_string_to_sign
from mailpass_common.suppressions import service as suppressions
from tests.support.fake_http_apis import _Served
from tests.support.stack import running_gateway
from tests.support.tenants import Tenant, add_provider, make_admin

TOPIC = "arn:aws:sns:us-east-1:123456789012:ses-bounces"


def sns_now(offset_seconds: float = 0) -> str:
    """An SNS ``Timestamp``: ISO 8601 in UTC with milliseconds, as SNS writes it."""
    at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=offset_seconds)
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class SnsStandIn:
    """Serves the signing certificate and records subscription confirmations."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.test")])
        now = dt.datetime.now(dt.UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1))
            .sign(self.key, hashes.SHA256())
        )
        self.confirmed: list[str] = []
        app = FastAPI()

        @app.get("/cert.pem")
        async def cert() -> Response:
            pem = self.certificate.public_bytes(serialization.Encoding.PEM)
            return Response(pem, media_type="application/x-pem-file")

        @app.get("/confirm")
        async def confirm(Token: str) -> Response:
            self.confirmed.append(Token)
            return Response("<ConfirmSubscriptionResponse/>", media_type="text/xml")

        self.served = _Served(app)

    def signed(self, message: dict[str, Any], version: str = "2") -> dict[str, Any]:
        message = {
            **message,
            "SignatureVersion": version,
            "TopicArn": message.get("TopicArn", TOPIC),
        }
        message.setdefault("SigningCertURL", f"{self.served.base_url}/cert.pem")
        digest = hashes.SHA256() if version == "2" else hashes.SHA1()
        signature = self.key.sign(sns_string_to_sign(message), padding.PKCS1v15(), digest)
        return {**message, "Signature": base64.b64encode(signature).decode()}


@pytest.fixture
def sns() -> Iterator[SnsStandIn]:
    stand_in = SnsStandIn()
    stand_in.served.start()
    yield stand_in
    stand_in.served.stop()


@pytest.fixture
async def gateway(service_env: dict[str, Any], sns: SnsStandIn) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(
        service_env, sns_trusted_url_prefixes=f"{sns.served.base_url}/"
    ) as client:
        yield client


@pytest.fixture
async def admin(db: Database) -> Tenant:
    return await make_admin(db, "acme")


async def _hook(
    api: httpx.AsyncClient, db: Database, env: dict[str, Any], admin: Tenant, type: str, **keys: Any
) -> str:
    config = {"region": "us-east-1"} if type == "ses" else {"domain": "mg.example.test"}
    provider = await add_provider(db, env, admin.account_id, name=type, type=type, config=config)
    response = await api.put(
        f"/api/v1/providers/{provider['_id']}/event-hook", json=keys, headers=admin.headers
    )
    assert response.status_code == 201, response.text
    path: str = response.json()["data"]["path"]
    shown = await api.get(f"/api/v1/providers/{provider['_id']}/event-hook", headers=admin.headers)
    assert shown.json()["data"] == {"exists": True, "type": type}
    assert path not in shown.text
    return path


def _ses_bounce(bounce_type: str = "Permanent") -> str:
    return json.dumps(
        {
            "notificationType": "Bounce",
            "bounce": {
                "bounceType": bounce_type,
                "bouncedRecipients": [
                    {
                        "emailAddress": "Gone@Example.com",
                        "diagnosticCode": "smtp; 550 5.1.1 unknown",
                    }
                ],
            },
            "mail": {"commonHeaders": {"messageId": "<m1@acme.test>"}},
        }
    )


async def test_ses_through_sns(
    gateway: httpx.AsyncClient,
    db: Database,
    service_env: dict[str, Any],
    admin: Tenant,
    sns: SnsStandIn,
) -> None:
    path = await _hook(gateway, db, service_env, admin, "ses", topic_arn=TOPIC)
    confirmation = sns.signed(
        {
            "Type": "SubscriptionConfirmation",
            "MessageId": "c1",
            "Token": "tok-1",
            "Message": "You have chosen to subscribe",
            "SubscribeURL": f"{sns.served.base_url}/confirm?Token=tok-1",
            "Timestamp": sns_now(),
        }
    )
    response = await gateway.post(path, content=json.dumps(confirmation))
    assert response.status_code == 200, response.text
    assert sns.confirmed == ["tok-1"]

    for version in ("1", "2"):
        notification = sns.signed(
            {
                "Type": "Notification",
                "MessageId": f"n{version}",
                "Message": _ses_bounce(),
                "Timestamp": sns_now(),
            },
            version,
        )
        response = await gateway.post(path, content=json.dumps(notification))
        assert response.status_code == 200, response.text
    entry = await suppressions.get(db, admin.account_id, "gone@example.com")
    assert entry is not None and entry["source"] == "ses" and entry["reason"] == "bounce"
    assert entry["message_id"] == "<m1@acme.test>" and "5.1.1" in entry["detail"]

    transient = sns.signed(
        {
            "Type": "Notification",
            "MessageId": "n3",
            "Message": _ses_bounce("Transient").replace("Gone", "Late"),
            "Timestamp": sns_now(),
        }
    )
    assert (await gateway.post(path, content=json.dumps(transient))).json()["data"][
        "suppressed"
    ] == 0

    forged = {**notification, "Message": _ses_bounce().replace("Gone", "Other")}
    elsewhere = sns.signed(
        {
            "Type": "Notification",
            "MessageId": "n4",
            "Message": _ses_bounce(),
            "Timestamp": sns_now(),
            "SigningCertURL": "https://evil.example/cert.pem",
        }
    )
    other_topic = sns.signed(
        {
            "Type": "Notification",
            "MessageId": "n5",
            "Message": _ses_bounce(),
            "Timestamp": sns_now(),
            "TopicArn": TOPIC + "-x",
        }
    )
    for refused in (forged, elsewhere, other_topic):
        response = await gateway.post(path, content=json.dumps(refused))
        assert response.status_code == 401, response.text
        assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"
    assert await suppressions.get(db, admin.account_id, "other@example.com") is None


async def test_sendgrid_signed_event_webhook(
    gateway: httpx.AsyncClient, db: Database, service_env: dict[str, Any], admin: Tenant
) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    path = await _hook(
        gateway, db, service_env, admin, "sendgrid", public_key=base64.b64encode(public).decode()
    )
    events = [
        {
            "email": "bounced@example.com",
            "event": "bounce",
            "type": "bounce",
            "reason": "550 5.1.1 no such user",
            "smtp-id": "<m2@acme.test>",
        },
        {
            "email": "blocked@example.com",
            "event": "bounce",
            "type": "blocked",
            "reason": "554 blocked",
        },
        {"email": "angry@example.com", "event": "spamreport"},
        {"email": "fine@example.com", "event": "delivered"},
    ]
    body = json.dumps(events).encode()

    def headers(timestamp: str, payload: bytes) -> dict[str, str]:
        signature = key.sign(timestamp.encode() + payload, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
            "Content-Type": "application/json",
        }

    now = str(int(time.time()))
    response = await gateway.post(path, content=body, headers=headers(now, body))
    assert response.status_code == 200, response.text
    assert response.json()["data"] == {"events": 2, "suppressed": 2}
    bounced = await suppressions.get(db, admin.account_id, "bounced@example.com")
    assert bounced is not None and bounced["message_id"] == "<m2@acme.test>"
    angry = await suppressions.get(db, admin.account_id, "angry@example.com")
    assert angry is not None and angry["reason"] == "complaint"
    assert await suppressions.get(db, admin.account_id, "blocked@example.com") is None

    tampered = body.replace(b"fine@", b"evil@")
    stale = str(int(time.time()) - 3600)
    for sent_headers, payload in (
        (headers(now, body), tampered),
        (headers(stale, body), body),
        ({}, body),
    ):
        response = await gateway.post(path, content=payload, headers=sent_headers)
        assert response.status_code == 401, response.text


async def test_mailgun_webhook(
    gateway: httpx.AsyncClient, db: Database, service_env: dict[str, Any], admin: Tenant
) -> None:
    path = await _hook(gateway, db, service_env, admin, "mailgun", signing_key="mg-signing-key")

    def signed(event: dict[str, Any], key: str = "mg-signing-key", age: int = 0) -> dict[str, Any]:
        timestamp, token = str(int(time.time()) - age), secrets.token_hex(25)
        digest = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
        return {
            "signature": {"timestamp": timestamp, "token": token, "signature": digest},
            "event-data": event,
        }

    failed = {
        "event": "failed",
        "severity": "permanent",
        "recipient": "nobody@example.com",
        "delivery-status": {"code": 550, "message": "5.1.1 mailbox unavailable"},
        "message": {"headers": {"message-id": "m3@acme.test"}},
    }
    response = await gateway.post(path, json=signed(failed))
    assert response.status_code == 200, response.text
    entry = await suppressions.get(db, admin.account_id, "nobody@example.com")
    assert entry is not None and entry["source"] == "mailgun"
    assert (
        entry["detail"] == "550 5.1.1 mailbox unavailable"
        and entry["message_id"] == "<m3@acme.test>"
    )

    temporary = {**failed, "severity": "temporary", "recipient": "later@example.com"}
    assert (await gateway.post(path, json=signed(temporary))).json()["data"]["suppressed"] == 0
    complained = {"event": "complained", "recipient": "spam@example.com"}
    assert (await gateway.post(path, json=signed(complained))).json()["data"]["suppressed"] == 1

    for refused in (signed(failed, key="wrong"), signed(failed, age=3600)):
        response = await gateway.post(path, json=refused)
        assert response.status_code == 401, response.text
    missing = await gateway.post(path[:-3] + "xyz", json=signed(failed))
    assert missing.status_code == 404


async def test_hooks_are_bounded(db: Database, service_env: dict[str, Any], admin: Tenant) -> None:
    async with running_gateway(
        service_env, event_hook_max_bytes=2048, event_hook_rate_per_second=0.2
    ) as api:
        path = await _hook(api, db, service_env, admin, "mailgun", signing_key="k")
        large = await api.post(path, content=b"{" + b" " * 4096 + b"}")
        assert large.status_code == 413, large.text
        codes = [(await api.post(path, json={})).status_code for _ in range(3)]
        assert codes[-1] == 429, codes
