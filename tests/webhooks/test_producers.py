"""What producers write to the webhook outbox: opens and clicks from the tracker's write,
once each even when a batch is written again, and nothing for accounts nobody listens to."""

from __future__ import annotations

from typing import Any

from mailpass_common.messages.models import EventType
from mailpass_common.platform.db import Collections, Database, where
from mailpass_common.suppressions import service as suppressions
from mailpass_common.suppressions.service import Suppression, SuppressionReason
from mailpass_common.webhooks import endpoints
from mailpass_common.webhooks.endpoints import EndpointDirectory
from mailpass_tracker.ingest import TrackingHit, write_events
from tests.support.messages import insert_messages
from tests.support.tenants import cipher, make_account


async def test_tracking_events_are_reported_once_to_the_accounts_listening(
    db: Database, service_env: dict[str, Any]
) -> None:
    acme, globex = await make_account(db, "acme"), await make_account(db, "globex")
    endpoint, _ = await endpoints.create_endpoint(
        db,
        cipher(service_env),
        account_id=acme,
        url="https://hooks.example.com/x",
        events=["open", "click"],
        sandbox=False,
        limit=20,
    )
    [mine] = await insert_messages(db, acme, "prv_x", 1)
    [theirs] = await insert_messages(db, globex, "prv_y", 1)
    hits = [
        TrackingHit.open(mine["_id"], "203.0.113.9", "Mozilla/5.0"),
        TrackingHit(
            mine["_id"], EventType.CLICK, None, "UA", url="https://a.example/", link_index=0
        ),
        TrackingHit.open(theirs["_id"], "203.0.113.9", "Mozilla/5.0"),
    ]
    directory = EndpointDirectory(db, 5.0)
    await write_events(db, hits, directory)
    await write_events(db, hits, directory)  # a retried batch

    found = await db[Collections.WEBHOOK_EVENTS].find().sort([("type", 1)]).to_list()
    assert [(e["type"], e["account_id"], e["endpoint_ids"]) for e in found] == [
        ("click", acme, [endpoint["_id"]]),
        ("open", acme, [endpoint["_id"]]),
    ]
    click = found[0]["payload"]
    assert click["type"] == "click"
    assert click["data"]["message_id"] == mine["_id"]
    assert click["data"]["url"] == "https://a.example/"
    assert click["data"]["to"] == mine["to"]
    assert all(e["state"] == "pending" for e in found)


async def test_an_endpoint_gets_only_the_types_it_asked_for(
    db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    await endpoints.create_endpoint(
        db,
        cipher(service_env),
        account_id=acme,
        url="https://hooks.example.com/x",
        events=["failed"],
        sandbox=False,
        limit=20,
    )
    directory = EndpointDirectory(db, 5.0)
    assert await directory.subscribers(acme, "sent", sandbox=False) == []
    assert len(await directory.subscribers(acme, "failed", sandbox=False)) == 1
    assert await directory.subscribers(acme, "failed", sandbox=True) == []
    assert await db[Collections.WEBHOOK_EVENTS].find_one(where(account_id=acme)) is None


async def test_a_batch_retried_after_its_events_were_written_still_reports_them(
    db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    await endpoints.create_endpoint(
        db,
        cipher(service_env),
        account_id=acme,
        url="https://hooks.example.com/x",
        events=["open"],
        sandbox=False,
        limit=20,
    )
    [message] = await insert_messages(db, acme, "prv_x", 1)
    hits = [TrackingHit.open(message["_id"], "203.0.113.9", "Mozilla/5.0")]
    await write_events(db, hits)  # the first try: the events are in, the outbox write was not
    await write_events(db, hits, EndpointDirectory(db, 5.0))
    found = await db[Collections.WEBHOOK_EVENTS].find().to_list()
    assert [e["type"] for e in found] == ["open"]


async def test_bounces_and_complaints_are_reported_once_and_manual_entries_not(
    db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    endpoint, _ = await endpoints.create_endpoint(
        db,
        cipher(service_env),
        account_id=acme,
        url="https://hooks.example.com/x",
        events=["bounced", "complained"],
        sandbox=False,
        limit=20,
    )
    entries = [
        Suppression(acme, "Gone@Example.com", SuppressionReason.BOUNCE, "smtp", "<m1@x>", "550"),
        Suppression(acme, "angry@example.com", SuppressionReason.COMPLAINT, "ses", "<m2@x>"),
        Suppression(acme, "asked@example.com", SuppressionReason.MANUAL, "api"),
    ]
    assert len(await suppressions.add_many(db, entries)) == 3
    assert await suppressions.add_many(db, entries) == []  # listed already: nothing new

    found = await db[Collections.WEBHOOK_EVENTS].find().sort([("type", 1)]).to_list()
    assert [(e["type"], e["endpoint_ids"]) for e in found] == [
        ("bounced", [endpoint["_id"]]),
        ("complained", [endpoint["_id"]]),
    ]
    bounced = found[0]["payload"]["data"]
    assert (bounced["address"], bounced["message_id"], bounced["detail"]) == (
        "gone@example.com",
        "<m1@x>",
        "550",
    )
