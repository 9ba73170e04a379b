"""Test mail never counts against, nor is held by, a provider's live limits: on /send, on
batches, on resends and when the scheduler releases a scheduled send."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.providers import limits
from mailpass_common.tenants import api_keys
from mailpass_common.tenants.api_keys import Permission
from mailpass_gateway.mail import examples
from tests.contract.test_batch import run_scheduler_flush
from tests.contract.test_resend import resend_path
from tests.support.messages import wait_for_status
from tests.support.smtp import SmtpServer
from tests.support.tenants import make_tenant

SEND = "/api/v1/mail/send"
BATCH = "/api/v1/mail/send-batch"


async def test_scheduled_test_mail_is_never_counted_or_held_by_live_limits(
    api: httpx.AsyncClient,
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
    sandbox: SmtpServer,
) -> None:
    test = await make_tenant(
        db, service_env, "modes", smtp_port=smtp.port, hourly_limit=2, test_key=True
    )
    assert test.provider is not None
    live_key = await api_keys.create_api_key(db, test.account_id, (Permission.MAIL,))
    live = {"Authorization": f"Bearer {live_key.key}"}
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    scheduled = {**examples.SEND_REQUEST_CURL, "scheduled_at": later}

    ids = []
    for _ in range(3):  # more test mail than the live hourly limit
        response = await api.post(SEND, json=scheduled, headers=test.headers)
        assert response.status_code == 202, response.text
        ids.append(response.json()["data"]["message_id"])
    batch = {"messages": [scheduled, scheduled]}
    response = await api.post(BATCH, json=batch, headers=test.headers)
    assert response.status_code == 200, response.text
    ids += [item["message_id"] for item in response.json()["data"]["messages"]]
    await db[Collections.MESSAGES].update_many(
        {"_id": {"$in": ids}}, {"$currentDate": {"scheduled_at": True}}
    )

    # Half the live window used: the released test mail must not take the other half.
    assert (await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=live)).status_code == 200
    await run_scheduler_flush(db, service_env)
    for message_id in ids:
        sent = await wait_for_status(db, message_id, "sent")
        assert sent["delivered_by"] == "sandbox"
    assert await limits.usage(db, test.provider) == {"hourly": 1}
    assert (await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=live)).status_code == 200

    # The live window is full now: scheduled test mail still goes out at once.
    response = await api.post(SEND, json=scheduled, headers=test.headers)
    held = response.json()["data"]["message_id"]
    await db[Collections.MESSAGES].update_one(
        {"_id": held}, {"$currentDate": {"scheduled_at": True}}
    )
    await run_scheduler_flush(db, service_env)
    await wait_for_status(db, held, "sent")
    assert await limits.usage(db, test.provider) == {"hourly": 2}
    assert len(sandbox.received) == len(ids) + 1 and len(smtp.received) == 2


async def test_a_test_message_resent_while_the_live_window_is_full_goes_out(
    api: httpx.AsyncClient,
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
    sandbox: SmtpServer,
) -> None:
    test = await make_tenant(
        db, service_env, "resends", smtp_port=smtp.port, hourly_limit=1, test_key=True
    )
    assert test.provider is not None
    live_key = await api_keys.create_api_key(db, test.account_id, (Permission.MAIL,))
    live = {"Authorization": f"Bearer {live_key.key}"}
    sandbox.handler.fail_next.append("550 5.1.1 rejected")
    response = await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=test.headers)
    failed = response.json()["error"]["details"]["message_id"]
    assert (await api.post(SEND, json=examples.SEND_REQUEST_CURL, headers=live)).status_code == 200

    response = await api.post(resend_path(failed), headers=test.headers)
    assert response.status_code == 202, response.text
    await wait_for_status(db, response.json()["data"]["message_id"], "sent")
    assert await limits.usage(db, test.provider) == {"hourly": 1}
