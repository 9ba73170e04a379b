"""A hostile HTML body cannot stop the sender: link tracking runs in linear time within a
budget, off the event loop, and a body that does not fit the budget goes out untracked."""

from __future__ import annotations

import asyncio
from typing import Any

from mailpass_common.messages import service as messages
from mailpass_common.messages.ids import new_message_id
from mailpass_common.messages.models import MessageDocument, new_message
from mailpass_common.platform.db import Database
from mailpass_common.platform.jobs import MessageKind
from tests.support.broker import publish
from tests.support.messages import timeline, wait_for_status
from tests.support.smtp import SmtpServer
from tests.support.stack import running_sender
from tests.support.tenants import add_provider, make_account, smtp_config

KIB = 1024
# 512 KiB: links every 17 characters (30,000 of them to sign), then "<a" repeated, which
# took the stdlib HTMLParser about 200 s for 512 KiB (quadratic).
LINKS = "<a href=http://x>" * (256 * KIB // 17)
HOSTILE = LINKS + "<a" * ((512 * KIB - len(LINKS)) // 2)
NORMAL = '<p>Hello</p><a href="https://shop.example.com/order/1">Your order</a>'


async def _tracked_messages(
    db: Database, env: dict[str, Any], port: int, *bodies: str
) -> list[MessageDocument]:
    account_id = await make_account(db)
    provider = await add_provider(
        db, env, account_id, name="primary", config=smtp_config(port), default=True
    )
    docs = [
        new_message(
            message_id=new_message_id("test.mailpass.local"),
            account_id=account_id,
            kind=MessageKind.IMMEDIATE,
            sandbox=False,
            provider_id=provider["_id"],
            from_email="noreply@acme.test",
            from_name=None,
            to=f"user{i}@example.com",
            subject=f"Message {i}",
            html=body,
            text=None,
            track_opens=True,
            track_clicks=True,
        )
        for i, body in enumerate(bodies)
    ]
    await messages.insert_messages(db, docs)
    return docs


async def test_a_hostile_body_does_not_delay_the_message_beside_it(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    assert len(HOSTILE) == 512 * KIB
    hostile, normal = await _tracked_messages(db, service_env, smtp.port, HOSTILE, NORMAL)
    async with running_sender(service_env, management_port=0):
        await publish(service_env, [hostile])
        await asyncio.sleep(0.05)  # the hostile job is taken first
        started = asyncio.get_running_loop().time()
        await publish(service_env, [normal])
        await wait_for_status(db, normal["_id"], "sent", timeout=5)
        waited = asyncio.get_running_loop().time() - started
        await wait_for_status(db, hostile["_id"], "sent", timeout=30)
    # 0.25 s when the machine is idle (the hostile one done at 0.33 s); the old quadratic
    # parser held the loop for about 200 s. Bounded by the tracking budget (2 s, the
    # most a body's rewrite may take): a CI run on a busy moment measured 1.46 s.
    assert waited < 2.0, f"the normal message took {waited:.2f} s"
    received = {r.message["Message-ID"]: r for r in smtp.received}
    assert set(received) == {hostile["_id"], normal["_id"]}
    # The hostile body fit the budget: its 15,420 links are tracked, and the rest kept.
    html = received[hostile["_id"]].message.get_body(("html",))
    assert html is not None
    content = html.get_content()
    assert content.count("/t/c/") == 256 * KIB // 17
    assert "<a" * 1000 + "<img src=" in content  # the pixel at the end
    assert [e["event_type"] for e in await timeline(db, hostile["_id"])] == ["sent"]


async def test_a_body_that_does_not_fit_the_budget_is_sent_untracked_and_said_so(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    [doc] = await _tracked_messages(db, service_env, smtp.port, HOSTILE)
    async with running_sender(service_env, management_port=0, sender_tracking_budget_seconds=0.001):
        await publish(service_env, [doc])
        await wait_for_status(db, doc["_id"], "sent", timeout=30)
    [received] = smtp.received
    html = received.message.get_body(("html",))
    assert html is not None
    # As written: no tracked link, no pixel.
    assert html.get_content().replace("\r\n", "\n").rstrip("\n") == HOSTILE
    skipped, sent = await timeline(db, doc["_id"])
    assert (skipped["event_type"], sent["event_type"]) == ("tracking_skipped", "sent")
    assert (
        "within 0.001 s" in skipped["detail"]
        and "without open and click tracking" in (skipped["detail"])
    )
