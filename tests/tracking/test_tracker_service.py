"""The real tracker over HTTP, writing to the MongoDB wire server."""

from __future__ import annotations

import asyncio
from typing import Any

from prometheus_client import REGISTRY

from mailpass_common.messages.signed_links import TrackingSigner
from mailpass_common.platform.db import Collections, Database
from mailpass_tracker.settings import TrackerSettings
from mailpass_tracker.views import TRANSPARENT_GIF
from tests.tracking.support import (
    StallingProxy,
    client_from,
    insert_sent_message,
    running_tracker,
    running_tracker_ports,
)

MESSAGE_ID = "<tracked.1700000000@test.mailpass.local>"
THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.1"
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
TARGET = "https://shop.example.com/orders/42?utm_source=mail&x=1"


def signer_for(env: dict[str, Any]) -> TrackingSigner:
    return TrackingSigner(TrackerSettings(**env).secret_key.get_secret_value())


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def events(db: Database) -> list[dict[str, Any]]:
    cursor = db[Collections.EVENTS].find({}, projection={"_id": 0}).sort("created_at", 1)
    return await cursor.to_list()


async def test_pixel_and_click_are_answered_and_recorded(
    db: Database, service_env: dict[str, Any]
) -> None:
    await insert_sent_message(db, MESSAGE_ID, "acc_a")
    signer = signer_for(service_env)
    opened_before = metric(
        "mailpass_tracker_events_total", event_type="open", classification="human"
    )
    async with (
        running_tracker_ports(service_env) as (base, management),
        client_from("127.0.0.1", base) as web,
    ):
        pixel = await web.get(
            f"/t/o/{signer.open_token(MESSAGE_ID)}", headers={"User-Agent": THUNDERBIRD}
        )
        async with client_from("127.0.0.5", base) as image_proxy:
            proxied = await image_proxy.get(
                f"/t/o/{signer.open_token(MESSAGE_ID)}", headers={"User-Agent": GMAIL_PROXY}
            )
        click = await web.get(
            f"/t/c/{signer.click_token(MESSAGE_ID, 3, TARGET)}", headers={"User-Agent": THUNDERBIRD}
        )
        public_probes = [await web.get(path) for path in ("/readyz", "/healthz", "/metrics")]
        ready = await web.get(f"{management}/readyz")
        exposition = (await web.get(f"{management}/metrics")).text

    assert pixel.status_code == 200 and proxied.status_code == 200
    assert pixel.headers["content-type"] == "image/gif"
    assert pixel.content == TRANSPARENT_GIF and TRANSPARENT_GIF.startswith(
        b"GIF89a\x01\x00\x01\x00"
    )
    assert "no-store" in pixel.headers["cache-control"] and pixel.headers["pragma"] == "no-cache"
    assert click.status_code == 302
    assert click.headers["location"] == TARGET
    assert "no-store" in click.headers["cache-control"]
    assert click.headers["referrer-policy"] == "no-referrer"
    assert ready.status_code == 200
    assert [r.status_code for r in public_probes] == [404, 404, 404]

    recorded = await events(db)
    assert [(e["event_type"], e["classification"]) for e in recorded] == [
        ("open", "human"),
        ("open", "machine_open"),
        ("click", "human"),
    ]
    assert [e["ip_address"] for e in recorded] == ["127.0.0.1", "127.0.0.5", "127.0.0.1"]
    for event in recorded:
        assert event["message_id"] == MESSAGE_ID and event["account_id"] == "acc_a"
        assert event["created_at"].tzinfo is not None
    assert recorded[0]["user_agent"] == THUNDERBIRD and "url" not in recorded[0]
    assert recorded[2]["url"] == TARGET and recorded[2]["link_index"] == 3
    assert recorded[0]["created_at"] <= recorded[1]["created_at"] <= recorded[2]["created_at"]

    after = metric("mailpass_tracker_events_total", event_type="open", classification="human")
    assert after == opened_before + 1
    for name in (
        "mailpass_tracker_events_total",
        "mailpass_tracker_invalid_tokens_total",
        "mailpass_tracker_events_dropped_total",
        "mailpass_tracker_buffer_depth",
        "mailpass_tracker_flush_seconds_bucket",
    ):
        assert name in exposition


async def test_tokens_that_do_not_verify_get_404_and_record_nothing(
    db: Database, service_env: dict[str, Any]
) -> None:
    await insert_sent_message(db, MESSAGE_ID, "acc_a")
    signer = signer_for(service_env)
    click = signer.click_token(MESSAGE_ID, 0, TARGET)
    flipped = click[:20] + ("A" if click[20] != "A" else "B") + click[21:]
    foreign = TrackingSigner("another-installation").click_token(
        MESSAGE_ID, 0, "https://evil.example"
    )
    paths = [
        f"/t/c/{flipped}",  # one character changed
        f"/t/c/{click[:-1]}",  # truncated
        f"/t/c/{click}x",  # extended
        f"/t/c/{foreign}",  # signed with another key
        f"/t/c/{signer.open_token(MESSAGE_ID)}",  # an open token used as a click
        f"/t/o/{click}",  # a click token used as an open
        "/t/c/https%3A%2F%2Fevil.example",  # a URL in place of a token (no route matches)
        "/t/o/" + "A" * 9000,
    ]
    invalid_before = metric("mailpass_tracker_invalid_tokens_total", kind="click")
    async with running_tracker(service_env) as base, client_from("127.0.0.1", base) as web:
        responses = [await web.get(path) for path in paths]
    for path, response in zip(paths, responses, strict=True):
        assert response.status_code == 404, path
        assert "location" not in response.headers
        body = response.json()
        assert body["success"] is False and body["error"]["code"] == "NOT_FOUND"
    assert await events(db) == []
    assert metric("mailpass_tracker_invalid_tokens_total", kind="click") == invalid_before + 5


async def test_a_valid_token_for_an_unknown_message_redirects_but_records_nothing(
    db: Database, service_env: dict[str, Any]
) -> None:
    signer = signer_for(service_env)
    dropped_before = metric("mailpass_tracker_events_dropped_total", reason="unknown_message")
    async with running_tracker(service_env) as base, client_from("127.0.0.1", base) as web:
        response = await web.get(f"/t/c/{signer.click_token('<gone@x>', 0, TARGET)}")
    assert response.status_code == 302 and response.headers["location"] == TARGET
    assert await events(db) == []
    assert (
        metric("mailpass_tracker_events_dropped_total", reason="unknown_message")
        == dropped_before + 1
    )


async def test_forwarded_for_is_believed_only_from_a_trusted_proxy(
    db: Database, service_env: dict[str, Any]
) -> None:
    await insert_sent_message(db, MESSAGE_ID, "acc_a")
    path = f"/t/o/{signer_for(service_env).open_token(MESSAGE_ID)}"
    forged = {"X-Forwarded-For": "198.51.100.23", "User-Agent": THUNDERBIRD}
    async with running_tracker(service_env, tracker_trusted_proxies=["127.0.0.2/32"]) as base:
        async with client_from("127.0.0.2", base) as via_ingress:
            assert (await via_ingress.get(path, headers=forged)).status_code == 200
        async with client_from("127.0.0.3", base) as direct:
            assert (await direct.get(path, headers=forged)).status_code == 200
    assert [e["ip_address"] for e in await events(db)] == ["198.51.100.23", "127.0.0.3"]


async def test_graceful_shutdown_writes_every_buffered_event(
    db: Database, service_env: dict[str, Any]
) -> None:
    opened = [f"<drain-{i}.1700000000@test.mailpass.local>" for i in range(25)]
    for message_id in [MESSAGE_ID, *opened]:
        await insert_sent_message(db, message_id, "acc_a")
    signer = signer_for(service_env)
    # Nothing is flushed before shutdown: an hour's interval and batches larger than the run.
    async with (
        running_tracker(
            service_env, tracker_flush_interval_seconds=3600, tracker_batch_size=10_000
        ) as base,
        client_from("127.0.0.1", base) as web,
    ):
        responses = await asyncio.gather(
            *(web.get(f"/t/o/{signer.open_token(message_id)}") for message_id in opened),
            *(web.get(f"/t/c/{signer.click_token(MESSAGE_ID, i, TARGET)}") for i in range(25)),
        )
        assert [r.status_code for r in responses] == [200] * 25 + [302] * 25
        assert await db[Collections.EVENTS].count_documents({}) == 0
    assert await db[Collections.EVENTS].count_documents({"event_type": "open"}) == 25
    links = await db[Collections.EVENTS].distinct("link_index", {"event_type": "click"})
    assert sorted(links) == list(range(25))


async def test_a_stalled_database_does_not_hold_up_pixels(
    db: Database, service_env: dict[str, Any]
) -> None:
    await insert_sent_message(db, MESSAGE_ID, "acc_a")
    signer = signer_for(service_env)
    async with StallingProxy(service_env["mongodb_url"]) as mongo:
        async with (
            running_tracker(
                service_env,
                mongodb_url=mongo.url,
                tracker_flush_interval_seconds=0.05,
                tracker_write_timeout_seconds=1.0,
            ) as base,
            client_from("127.0.0.1", base) as web,
        ):
            mongo.pause()
            # The database now never answers; a handler that waited on it would hang until
            # this client's timeout and fail the test.
            responses = [
                await web.get(f"/t/c/{signer.click_token(MESSAGE_ID, i, TARGET)}", timeout=5)
                for i in range(20)
            ]
            assert all(r.status_code == 302 for r in responses)
            assert await db[Collections.EVENTS].count_documents({}) == 0
            mongo.resume()
        # After the database recovers, shutdown writes everything that waited.
        assert await db[Collections.EVENTS].count_documents({"event_type": "click"}) == 20
