"""Real traffic through the gateway, the sender and the tracker, then each one's
management ``/metrics`` scraped: the series the dashboards and alerts read, with the
values that traffic must have produced.

The services run in the test's process and share one registry, so values are compared
before and after the traffic (as Prometheus' ``increase()`` does), never absolutely.
"""

from __future__ import annotations

import asyncio
from typing import Any

from mailpass_common.messages.signed_links import TrackingSigner
from mailpass_common.platform.db import Database
from mailpass_tracker.settings import TrackerSettings
from tests.support.metrics import Scrape, scrape
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway_ports, running_sender
from tests.support.tenants import make_tenant
from tests.tracking.support import client_from, insert_sent_message, running_tracker_ports

SEND = "/api/v1/mail/send"
BATCH = "/api/v1/mail/send-batch"
MESSAGE = {"to": "user@example.com", "subject": "Hello", "text": "Hi there"}
THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.0"


async def _in_flight_settles(management: str) -> Scrape:
    """The sender's in-flight gauge once everything handed to it is finished."""
    deadline = asyncio.get_running_loop().time() + 5
    while (found := await scrape(management)).value("mailpass_sender_in_flight") != 0:
        assert asyncio.get_running_loop().time() < deadline, "deliveries still in flight"
        await asyncio.sleep(0.05)
    return found


async def test_gateway_and_sender_count_what_real_traffic_did(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    async with (
        # Retries far in the future: the deferred message stays parked during the test.
        running_sender(service_env, sender_retry_base_seconds=3600) as sender,
        running_gateway_ports(service_env) as (api, gateway_management),
    ):
        sender_management = f"http://127.0.0.1:{sender.management.port}"
        gateway_before = await scrape(gateway_management)
        sender_before = await scrape(sender_management)

        sent = [await api.post(SEND, json=MESSAGE, headers=tenant.headers) for _ in range(3)]
        refused = await api.post(SEND, json={"to": "user@example.com"}, headers=tenant.headers)
        smtp.handler.fail_next = ["550 5.1.1 no such user"]
        failed = await api.post(SEND, json=MESSAGE, headers=tenant.headers)
        smtp.handler.fail_next = ["451 4.3.0 try again later"]
        deferred = await api.post(SEND, json=MESSAGE, headers=tenant.headers)
        batch = await api.post(BATCH, json={"messages": [MESSAGE, MESSAGE]}, headers=tenant.headers)
        await smtp.wait_for(5)
        public_metrics = await api.get("/metrics")

        gateway = await scrape(gateway_management)
        sender_after = await _in_flight_settles(sender_management)

    assert [r.status_code for r in sent] == [200, 200, 200]
    assert (refused.status_code, failed.status_code, deferred.status_code) == (400, 500, 202)
    assert batch.status_code == 200 and public_metrics.status_code == 404

    # The gateway: rate and errors by route, method and status; duration; what it accepted.
    requests = "mailpass_gateway_requests_total"
    for status, count in (("200", 3), ("400", 1), ("500", 1), ("202", 1)):
        labels = {"route": SEND, "method": "POST", "status": status}
        assert gateway.increase(gateway_before, requests, **labels) == count, status
    assert gateway.increase(gateway_before, requests, route=BATCH, method="POST", status="200")
    duration = "mailpass_gateway_request_duration_seconds_count"
    assert gateway.increase(gateway_before, duration, route=SEND, method="POST") == 6
    accepted = "mailpass_gateway_messages_accepted_total"
    assert gateway.increase(gateway_before, accepted, endpoint="send") == 5
    assert gateway.increase(gateway_before, accepted, endpoint="send_batch") == 2
    errors = "mailpass_gateway_errors_total"
    assert gateway.increase(gateway_before, errors, code="VALIDATION_ERROR") == 1
    assert gateway.increase(gateway_before, errors, code="SEND_FAILED") == 1
    assert gateway.increase(gateway_before, "mailpass_mongodb_commands_total", command="insert")
    # What its writes wrote: at least each message accepted, and that many index keys more.
    written = "mailpass_mongodb_documents_written_total"
    assert gateway.increase(gateway_before, written, collection="messages") >= 7
    keys = "mailpass_mongodb_index_keys_written_total"
    assert gateway.increase(gateway_before, keys, collection="messages") >= 7 * 5

    # The sender: outcomes by provider type, duration, retries, latency, in flight.
    after, before = sender_after, sender_before
    deliveries = "mailpass_sender_deliveries_total"
    for outcome, count in (("sent", 5), ("failed", 1), ("deferred", 1)):
        labels = {"provider_type": "smtp", "outcome": outcome}
        assert after.increase(before, deliveries, **labels) == count, outcome
    spent = "mailpass_sender_delivery_duration_seconds_count"
    assert after.increase(before, spent, provider_type="smtp") == 7
    latency = "mailpass_sender_acceptance_to_delivery_seconds_count"
    assert after.increase(before, latency, kind="immediate") == 3
    assert after.increase(before, latency, kind="batch") == 2
    assert after.increase(before, "mailpass_sender_retries_total", kind="immediate") == 1
    jobs = "mailpass_sender_jobs_total"
    assert after.increase(before, jobs, queue="immediate", result="done") == 5
    assert after.increase(before, jobs, queue="batch", result="done") == 1
    assert after.value("mailpass_sender_in_flight") == 0
    # Sequential sends reuse one pooled connection, kept open between them.
    assert after.value("mailpass_sender_smtp_connections_open") >= 1


async def test_tracker_counts_events_by_type_and_classification(
    db: Database, service_env: dict[str, Any]
) -> None:
    message_id = "<metrics.1@test.mailpass.local>"
    await insert_sent_message(db, message_id, "acc_a")
    signer = TrackingSigner(TrackerSettings(**service_env).secret_key.get_secret_value())
    opened = signer.open_token(message_id)
    clicked = signer.click_token(message_id, 0, "https://example.com/a")
    async with running_tracker_ports(service_env, tracker_flush_interval_seconds=0.05) as (
        base,
        management,
    ):
        before = await scrape(management)
        async with client_from("127.0.0.1", base) as web:
            await web.get(f"/t/o/{opened}", headers={"User-Agent": THUNDERBIRD})
            await web.get(f"/t/o/{opened}", headers={"User-Agent": THUNDERBIRD})
            await web.get(f"/t/c/{clicked}", headers={"User-Agent": THUNDERBIRD})
            await web.get(f"/t/c/{clicked[:-2]}", headers={"User-Agent": THUNDERBIRD})
        deadline = asyncio.get_running_loop().time() + 5
        events = "mailpass_tracker_events_total"
        while (after := await scrape(management)).increase(
            before, events, event_type="click", classification="human"
        ) < 1:
            assert asyncio.get_running_loop().time() < deadline, "events never written"
            await asyncio.sleep(0.05)

    # One open per message, reader and minute: the second is counted apart, not written.
    assert after.increase(before, events, event_type="open", classification="human") == 1
    assert after.increase(before, "mailpass_tracker_opens_deduplicated_total") == 1
    assert after.increase(before, events, event_type="click", classification="human") == 1
    assert after.increase(before, "mailpass_tracker_invalid_tokens_total", kind="click") == 1
    assert after.value("mailpass_tracker_buffer_depth") == 0
    assert after.increase(before, "mailpass_tracker_flush_seconds_count") >= 1
