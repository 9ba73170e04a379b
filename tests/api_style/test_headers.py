"""What every answer carries: X-Request-Id, the RateLimit headers, WWW-Authenticate on
401; non-JSON bodies refused with 415; the per-key rate limit shared by every replica."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from prometheus_client import REGISTRY, generate_latest

from mailpass_client import AsyncMailPass
from mailpass_common.platform.db import Database
from mailpass_common.platform.telemetry import JsonFormatter
from tests.support.stack import running_gateway
from tests.support.tenants import make_admin


@contextmanager
def json_log_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter("gateway"))
    root = logging.getLogger()
    previous = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)


async def test_request_ids_are_taken_or_made_and_echoed(
    api: httpx.AsyncClient, db: Database
) -> None:
    admin = await make_admin(db, "acme")
    given = await api.get("/api/v1/keys", headers={**admin.headers, "X-Request-Id": "abc-123"})
    assert given.headers["X-Request-Id"] == "abc-123"
    for unusable in ("", "x" * 129, "bad id", "a\u00e9"):
        made = await api.get("/api/v1/keys", headers={b"X-Request-Id": unusable.encode()})
        assert made.headers["X-Request-Id"].startswith("req_"), unusable
    first, second = [(await api.get("/openapi.json")).headers["X-Request-Id"] for _ in range(2)]
    assert first != second and len(first) == 36


async def test_a_401_names_the_bearer_scheme(api: httpx.AsyncClient) -> None:
    missing = await api.get("/api/v1/mail/messages")
    assert missing.status_code == 401
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="mailpass"'
    wrong = await api.get("/api/v1/mail/messages", headers={"Authorization": "Bearer mp_live_x"})
    assert wrong.status_code == 401
    assert 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]


async def test_bodies_that_are_not_json_are_415(api: httpx.AsyncClient, db: Database) -> None:
    admin = await make_admin(db, "acme")
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {**admin.headers, **({"Content-Type": content_type} if content_type else {})}
        response = await api.post("/api/v1/mail/send", content=b'{"to": "a@b.c"}', headers=headers)
        assert response.status_code == 415, (content_type, response.text)
        error = response.json()["error"]
        assert error["code"] == "UNSUPPORTED_MEDIA_TYPE"
        assert error["details"]["content_type"] == (content_type or "none")
    # Without a valid key, the key is what is wrong.
    stranger = {"Authorization": "Bearer mp_live_x", "Content-Type": "text/plain"}
    unauthenticated = await api.post("/api/v1/mail/send", content=b"{}", headers=stranger)
    assert unauthenticated.status_code == 401
    json_charset = {**admin.headers, "Content-Type": "application/json; charset=utf-8"}
    taken = await api.post(
        "/api/v1/suppressions", content=b'{"address": "a@b.c"}', headers=json_charset
    )
    assert taken.status_code == 201, taken.text
    # No body: nothing to refuse (the message does not exist).
    assert (
        await api.post("/api/v1/mail/messages/x/cancel", headers=admin.headers)
    ).status_code == 404
    # The provider event hooks take what providers post (SNS: text/plain).
    hook = await api.post(
        "/api/v1/provider-events/nothing", content=b"{}", headers={"Content-Type": "text/plain"}
    )
    assert hook.status_code != 415


async def test_rate_limit_headers_and_refusal_shared_by_replicas(
    service_env: dict[str, Any], db: Database
) -> None:
    admin = await make_admin(db, "acme")
    limits = {"api_rate_limit": 3, "api_rate_limit_window_seconds": 3600}
    async with (
        running_gateway(service_env, **limits) as one,
        running_gateway(service_env, **limits) as other,
    ):
        unauthenticated = await one.get("/api/v1/keys")
        assert unauthenticated.headers["RateLimit-Policy"] == '"key";q=3;w=3600'
        assert "RateLimit" not in unauthenticated.headers
        answers = [
            await replica.get("/api/v1/keys", headers=admin.headers)
            for replica in (one, other, one)
        ]
        assert [a.status_code for a in answers] == [200, 200, 200]
        remaining = [a.headers["RateLimit"].split(";")[1] for a in answers]
        assert remaining == ["r=2", "r=1", "r=0"]
        with json_log_lines() as lines:
            refused = await other.get(
                "/api/v1/keys", headers={**admin.headers, "X-Request-Id": "limited-1"}
            )
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "RATE_LIMITED"
        assert 0 < int(refused.headers["Retry-After"]) <= 3600
        assert refused.headers["RateLimit"].startswith('"key";r=0;t=')
        assert refused.headers["RateLimit-Policy"] == '"key";q=3;w=3600'
        assert '"request_id": "limited-1"' in lines.getvalue()
        assert '"message": "request rate limited"' in lines.getvalue()
        # Another key has its own quota.
        other_key = await make_admin(db, "globex")
        assert (await one.get("/api/v1/keys", headers=other_key.headers)).status_code == 200


async def test_requests_in_flight_together_are_counted_as_one_by_one(
    service_env: dict[str, Any], db: Database
) -> None:
    """Concurrent requests of a key share one upsert of the counter, and each still gets
    the count a single increment would have given it: exactly the limit pass."""
    admin = await make_admin(db, "acme")
    other = await make_admin(db, "globex")
    limits = {"api_rate_limit": 12, "api_rate_limit_window_seconds": 3600}
    before = _find_and_modify_commands()
    async with running_gateway(service_env, **limits) as api:
        answers = await asyncio.gather(
            *(api.get("/api/v1/keys", headers=admin.headers) for _ in range(20)),
            *(api.get("/api/v1/keys", headers=other.headers) for _ in range(3)),
        )
    mine, theirs = answers[:20], answers[20:]
    assert sorted(a.status_code for a in mine) == [200] * 12 + [429] * 8
    remaining = sorted(int(a.headers["RateLimit"].split(";")[1][2:]) for a in mine)
    assert remaining == [0] * 9 + list(range(1, 12))  # 11, 10, ... 1, 0, then the refused
    assert [a.status_code for a in theirs] == [200] * 3  # another key, its own quota
    counters = await db["api_request_counts"].find({}, {"count": 1}).to_list()
    assert sorted(c["count"] for c in counters) == [3, 20]
    # 23 requests counted in fewer upserts than requests.
    assert _find_and_modify_commands() - before < 23


def _find_and_modify_commands() -> float:
    """The findAndModify commands this process sent (the gateway runs in it)."""
    row = 'mailpass_mongodb_commands_total{command="findAndModify"} '
    text = generate_latest(REGISTRY).decode()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(row))


async def test_an_sdk_waits_out_a_429_and_retries(
    service_env: dict[str, Any], db: Database
) -> None:
    admin = await make_admin(db, "acme")
    limits = {"api_rate_limit": 2, "api_rate_limit_window_seconds": 2}
    async with running_gateway(service_env, **limits) as api:
        base_url = str(api.base_url).rstrip("/")
        async with AsyncMailPass(admin.key, base_url=base_url, max_retries=3) as client:
            pages = [await client.messages.list(limit=1) for _ in range(4)]
    assert all(page.messages == [] for page in pages)


def test_operation_ids_and_documented_headers() -> None:
    from mailpass_gateway.app import create_app
    from mailpass_gateway.settings import GatewaySettings

    spec = create_app(GatewaySettings()).openapi()
    ops = {
        (method, path): op for path, item in spec["paths"].items() for method, op in item.items()
    }
    ids = [op["operationId"] for op in ops.values()]
    assert len(ids) == len(set(ids))
    assert ops["post", "/api/v1/mail/send"]["operationId"] == "sendMail"
    assert ops["post", "/api/v1/mail/send-batch"]["operationId"] == "sendBatch"
    assert ops["get", "/api/v1/mail/status/{message_id}"]["operationId"] == "getMessageStatus"
    assert ops["get", "/api/v1/mail/messages"]["operationId"] == "listMessages"
    assert all(i[0].islower() and "_" not in i for i in ids), ids
    for (method, path), op in ops.items():
        for status, response in op["responses"].items():
            named = set(response.get("headers", {}))
            assert {"X-Request-Id", "RateLimit-Policy"} <= named, (method, path, status)
            if status == "429":
                assert "Retry-After" in named
    send = ops["post", "/api/v1/mail/send"]["responses"]
    assert "Idempotent-Replayed" in send["200"]["headers"]
    assert "WWW-Authenticate" in send["401"]["headers"]
    assert "RATE_LIMITED" in send["429"]["content"]["application/json"]["examples"]
    assert "415" in send
    assert set(spec["components"]["headers"]) >= {
        "X-Request-Id",
        "RateLimit",
        "RateLimit-Policy",
        "Retry-After",
        "Idempotent-Replayed",
    }
