"""Provider event hooks against hostile notifications: SNS's signed Timestamp within the
window the README states, Mailgun tokens taken once, an unreachable or malformed
signing certificate URL, and fields of the wrong shape: each a 4xx with a code or
ignored, never a 500."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from mailpass_common.providers.notifications import MAX_SKEW_SECONDS
from mailpass_common.suppressions import service as suppressions
from tests.contract.test_bounce_hooks import SnsStandIn, _hook, _ses_bounce, sns_now
from tests.support.readme import readme_text
from tests.support.services import free_port
from tests.support.stack import running_gateway
from tests.support.tenants import Tenant, make_admin

KEY = "mg-signing-key"


@pytest.fixture
def stand_in() -> Iterator[SnsStandIn]:
    found = SnsStandIn()
    found.served.start()
    yield found
    found.served.stop()


@pytest.fixture
async def api(
    service_env: dict[str, Any], stand_in: SnsStandIn
) -> AsyncIterator[httpx.AsyncClient]:
    trusted = f"{stand_in.served.base_url}/"
    async with running_gateway(service_env, sns_trusted_url_prefixes=trusted) as client:
        yield client


@pytest.fixture
async def owner(db: Database) -> Tenant:
    return await make_admin(db, "acme")


def _mailgun(event: dict[str, Any], token: str | None = None) -> dict[str, Any]:
    timestamp, token = str(int(time.time())), token or secrets.token_hex(25)
    digest = hmac.new(KEY.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {"signature": {"timestamp": timestamp, "token": token, "signature": digest}}


def test_the_readme_states_the_window_the_code_enforces() -> None:
    minutes = MAX_SKEW_SECONDS / 60
    stated = re.search(r"Signed timestamps more than (\d+) minutes off are refused", readme_text())
    assert stated is not None and float(stated.group(1)) == minutes


async def test_an_sns_notification_outside_the_window_is_refused(
    api: httpx.AsyncClient,
    db: Database,
    service_env: dict[str, Any],
    owner: Tenant,
    stand_in: SnsStandIn,
) -> None:
    path = await _hook(api, db, service_env, owner, "ses")
    window = MAX_SKEW_SECONDS

    def notification(n: int, timestamp: str) -> dict[str, Any]:
        message = _ses_bounce().replace("Gone", f"Gone{n}")
        body = {"Type": "Notification", "MessageId": f"n{n}", "Message": message}
        return stand_in.signed(body | {"Timestamp": timestamp})

    for n, stamp in enumerate([sns_now(-window - 60), sns_now(window + 60), "yesterday"]):
        response = await api.post(path, content=json.dumps(notification(n, stamp)))
        assert response.status_code == 401, (stamp, response.text)
        assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"
        assert await suppressions.get(db, owner.account_id, f"gone{n}@example.com") is None
    recent = await api.post(path, content=json.dumps(notification(9, sns_now(-window + 60))))
    assert recent.status_code == 200, recent.text
    assert recent.json()["data"]["suppressed"] == 1


async def test_an_unreachable_or_malformed_signing_certificate_url_is_a_401(
    db: Database, service_env: dict[str, Any], owner: Tenant, stand_in: SnsStandIn
) -> None:
    closed = f"http://127.0.0.1:{free_port()}/"
    async with running_gateway(
        service_env, sns_trusted_url_prefixes=f"{stand_in.served.base_url}/,{closed}"
    ) as api:
        path = await _hook(api, db, service_env, owner, "ses")
        for url in (
            f"{closed}cert.pem",  # nothing listens there
            f"{stand_in.served.base_url}/confirm.pem",  # not a certificate
            "https://[::1/cert.pem",  # not a URL
            "https://stand_in.us-east-1..amazonaws.com/cert.pem",  # an empty DNS label
        ):
            body = {"Type": "Notification", "MessageId": "n1", "Message": _ses_bounce()}
            signed = stand_in.signed(body | {"Timestamp": sns_now(), "SigningCertURL": url})
            response = await api.post(path, content=json.dumps(signed))
            assert response.status_code == 401, (url, response.text)
            assert response.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"


async def test_a_mailgun_signature_is_taken_once(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any], owner: Tenant
) -> None:
    path = await _hook(api, db, service_env, owner, "mailgun", signing_key=KEY)
    captured = _mailgun({})
    complained = {"event": "complained", "recipient": "first@example.com"}
    first = await api.post(path, json=captured | {"event-data": complained})
    assert first.status_code == 200 and first.json()["data"]["suppressed"] == 1
    # The same signature with another event (the signature does not cover it): refused.
    other = {"event": "complained", "recipient": "victim@example.com"}
    replayed = await api.post(path, json=captured | {"event-data": other})
    assert replayed.status_code == 401, replayed.text
    assert replayed.json()["error"]["code"] == "WEBHOOK_SIGNATURE_INVALID"
    assert await suppressions.get(db, owner.account_id, "victim@example.com") is None
    # Another hook may see the same token: tokens are remembered per hook.
    other_hook = await _hook(
        api, db, service_env, await make_admin(db, "b"), "mailgun", signing_key=KEY
    )
    assert (await api.post(other_hook, json=captured | {"event-data": other})).status_code == 200


async def test_notifications_with_fields_of_the_wrong_shape_are_ignored_not_errors(
    api: httpx.AsyncClient,
    db: Database,
    service_env: dict[str, Any],
    owner: Tenant,
    stand_in: SnsStandIn,
) -> None:
    mailgun = await _hook(api, db, service_env, owner, "mailgun", signing_key=KEY)
    failed = {"event": "failed", "severity": "permanent", "recipient": "odd@example.com"}
    for shape in (
        {"message": "not an object"},
        {"message": {"headers": ["not", "an", "object"]}},
        {"delivery-status": "not an object"},
        {"delivery-status": [550]},
        {"message": 7, "delivery-status": None},
    ):
        response = await api.post(mailgun, json=_mailgun({}) | {"event-data": failed | shape})
        assert response.status_code == 200, (shape, response.text)
    entry = await suppressions.get(db, owner.account_id, "odd@example.com")
    assert entry is not None and entry["message_id"] is None
    ses = await _hook(api, db, service_env, owner, "ses")
    for n, message in enumerate(
        [
            {"notificationType": "Bounce", "mail": "x", "bounce": []},
            {
                "notificationType": "Bounce",
                "bounce": {"bounceType": "Permanent", "bouncedRecipients": ["x", 1]},
            },
            {"notificationType": "Complaint", "complaint": {"complainedRecipients": "x"}},
            {
                "notificationType": "Bounce",
                "mail": {"commonHeaders": "x"},
                "bounce": {"bounceType": "Permanent", "bouncedRecipients": "x"},
            },
        ]
    ):
        body = {"Type": "Notification", "MessageId": f"s{n}", "Message": json.dumps(message)}
        response = await api.post(
            ses, content=json.dumps(stand_in.signed(body | {"Timestamp": sns_now()}))
        )
        assert response.status_code == 200, (message, response.text)
        assert response.json()["data"]["suppressed"] == 0
