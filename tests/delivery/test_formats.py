"""Format versions side by side: what the previous release wrote is read, what a newer
release writes is refused with its reason (never misread), on the real broker and
database. ``make upgrade`` runs the releases themselves together; this is its rule."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aio_pika
import pytest

from mailpass_common.messages.models import MESSAGE_FORMAT
from mailpass_common.platform.broker import Topology
from mailpass_common.platform.db import Database
from mailpass_common.platform.formats import UnsupportedFormat
from mailpass_common.platform.jobs import JOB_FORMAT, MessageKind, SendJob
from mailpass_common.webhooks.topology import DELIVERY_JOB_FORMAT, DeliveryJob
from tests.support.broker import dead_letters, publish
from tests.support.messages import event_types, insert_messages, wait_for_status
from tests.support.smtp import SmtpServer
from tests.support.stack import running_sender
from tests.support.tenants import make_tenant

# A job exactly as the release before format versions wrote it.
UNVERSIONED_JOB = b'{"account_id": "acc_1", "message_ids": ["<a@x>", "<b@x>"]}'


def test_a_job_says_its_format_and_reads_back() -> None:
    job = SendJob("acc_1", ("<a@x>",))
    assert json.loads(job.encode())["v"] == JOB_FORMAT
    assert SendJob.decode(job.encode()) == job
    delivery = DeliveryJob("evt_1", "wh_1", attempt=3)
    assert json.loads(delivery.encode())["v"] == DELIVERY_JOB_FORMAT
    assert DeliveryJob.decode(delivery.encode()) == delivery


def test_jobs_of_the_previous_release_are_read() -> None:
    assert SendJob.decode(UNVERSIONED_JOB) == SendJob("acc_1", ("<a@x>", "<b@x>"))
    assert SendJob.decode(b'{"account_id": "acc_1", "message_id": "<a@x>"}').message_ids == (
        "<a@x>",
    )
    old = b'{"event_id": "evt_1", "endpoint_id": "wh_1", "attempt": 2}'
    assert DeliveryJob.decode(old) == DeliveryJob("evt_1", "wh_1", 2)


@pytest.mark.parametrize("decode", [SendJob.decode, DeliveryJob.decode])
def test_a_newer_format_is_refused_with_its_reason(decode: Any) -> None:
    body = {"v": 99, "account_id": "a", "message_ids": ["<a@x>"], "event_id": "e"}
    body |= {"endpoint_id": "w", "attempt": 1}
    with pytest.raises(UnsupportedFormat, match="format v99 is newer than this release reads"):
        decode(json.dumps(body).encode())


@pytest.mark.parametrize("version", ["2", True, 0, None])
def test_a_version_that_is_not_one_is_no_job(version: object) -> None:
    body = json.dumps({"v": version, "account_id": "a", "message_ids": ["<a@x>"]}).encode()
    with pytest.raises(ValueError) as raised:
        SendJob.decode(body)
    assert not isinstance(raised.value, UnsupportedFormat)


async def test_a_newer_job_is_dead_lettered_with_its_reason_and_the_next_goes_out(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    assert tenant.provider is not None
    newer, healthy = await insert_messages(db, tenant.account_id, tenant.provider["_id"], 2)
    body = {"v": JOB_FORMAT + 1, "account_id": tenant.account_id, "message_ids": [newer["_id"]]}
    async with running_sender(service_env, management_port=0):
        connection = await aio_pika.connect(service_env["amqp_url"])
        async with connection:
            channel = await connection.channel()
            topology = Topology(service_env["amqp_prefix"])
            await channel.default_exchange.publish(
                aio_pika.Message(json.dumps(body).encode()),
                routing_key=topology.work_queue(MessageKind.IMMEDIATE),
            )
        await publish(service_env, [healthy])
        await wait_for_status(db, healthy["_id"], "sent")
        for _ in range(50):
            found = await dead_letters(service_env)
            if found:
                break
            await asyncio.sleep(0.1)
    [dead] = found
    assert dead.job is None and dead.reason == "rejected"
    assert f"send job format v{JOB_FORMAT + 1} is newer than this release reads" in dead.error
    still = await db["messages"].find_one({"_id": newer["_id"]})
    assert still is not None and still["status"] == "queued"  # untouched, for a newer sender
    assert [m.message["Subject"] for m in smtp.received] == [healthy["subject"]]


async def test_documents_of_the_previous_release_go_out_and_newer_ones_wait(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    assert tenant.provider is not None
    previous, newer = await insert_messages(db, tenant.account_id, tenant.provider["_id"], 2)
    assert previous["v"] == MESSAGE_FORMAT
    await db["messages"].update_one({"_id": previous["_id"]}, {"$unset": {"v": ""}})
    await db["messages"].update_one({"_id": newer["_id"]}, {"$set": {"v": MESSAGE_FORMAT + 1}})
    async with running_sender(service_env, management_port=0, sender_retry_base_seconds=30):
        await publish(service_env, [previous, newer])
        await wait_for_status(db, previous["_id"], "sent")
        deferred = await wait_for_status(db, newer["_id"], "deferred")
    assert f"format v{MESSAGE_FORMAT + 1} is newer than this release reads" in (
        deferred["error_message"] or ""
    )
    assert await event_types(db, newer["_id"]) == ["deferred"]
    assert [m.message["Subject"] for m in smtp.received] == [previous["subject"]]
