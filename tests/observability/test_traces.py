"""One trace per message: the gateway's request, the publish, the sender's consume, the
delivery, the SMTP call and the database commands, with the W3C context carried in the
AMQP headers. Gateway and sender run in the test's process and export to one in-memory
exporter, so the whole trace can be read back."""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import secrets
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from opentelemetry import context as otel_context
from opentelemetry import propagate
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from mailpass_common.platform.db import Database
from mailpass_common.platform.telemetry import JsonFormatter
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import make_tenant
from tests.support.tracing import exported_spans, trace_hex, tracing_without_exporter

STARTUP_COMMANDS = {"ping", "createIndexes", "listIndexes"}
MESSAGE = {"to": "user@example.com", "subject": "Hello", "text": "Hi there"}


def _traceparent() -> tuple[str, str]:
    trace_id = secrets.token_hex(16)
    return trace_id, f"00-{trace_id}-{secrets.token_hex(8)}-01"


@contextlib.contextmanager
def _client_trace(traceparent: str) -> Iterator[None]:
    """Requests made inside are made in the client's trace (the test's HTTP client is
    instrumented too while tracing is on, and would otherwise start a trace of its own)."""
    token = otel_context.attach(propagate.extract({"traceparent": traceparent}))
    try:
        yield
    finally:
        otel_context.detach(token)


async def _spans_until(
    exporter: InMemorySpanExporter, done: str, count: int = 1
) -> Sequence[ReadableSpan]:
    """Every finished span, once ``count`` spans named ``done`` have finished."""
    deadline = asyncio.get_running_loop().time() + 10
    while True:
        spans = exporter.get_finished_spans()
        if sum(s.name == done for s in spans) >= count:
            return spans
        assert asyncio.get_running_loop().time() < deadline, [s.name for s in spans]
        await asyncio.sleep(0.05)


def _parent(span: ReadableSpan, spans: Sequence[ReadableSpan]) -> ReadableSpan:
    assert span.parent is not None, span.name
    [parent] = [s for s in spans if s.context and s.context.span_id == span.parent.span_id]
    return parent


def _one(spans: Sequence[ReadableSpan], **match: Any) -> ReadableSpan:
    found = [s for s in spans if all(getattr(s, k) == v for k, v in match.items())]
    assert len(found) == 1, (match, [(s.name, s.kind) for s in spans])
    return found[0]


async def test_one_trace_from_the_gateway_request_to_the_smtp_delivery(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    trace_id, traceparent = _traceparent()
    with exported_spans() as exporter:
        async with running_sender(service_env), running_gateway(service_env) as api:
            with _client_trace(traceparent):
                response = await api.post("/api/v1/mail/send", json=MESSAGE, headers=tenant.headers)
            # The reply's consume ends in the gateway once the request has been answered.
            spans = await _spans_until(exporter, "smtp send")
            await asyncio.sleep(0.2)
            spans = exporter.get_finished_spans()
    assert response.status_code == 200, response.text
    message_id = response.json()["data"]["message_id"]

    request = _one(spans, kind=SpanKind.SERVER, name="POST /api/v1/mail/send")
    publish = _one(
        spans, kind=SpanKind.PRODUCER, name=f"{service_env['amqp_prefix']},send.immediate send"
    )
    consume = _one(spans, kind=SpanKind.CONSUMER, name=f"{service_env['amqp_prefix']} receive")
    deliver = _one(spans, name="mailpass.deliver")
    smtp_call = _one(spans, name="smtp send", kind=SpanKind.CLIENT)
    # The client's trace goes on: the request continues its traceparent.
    assert trace_hex(request) == trace_id
    assert _parent(publish, spans) is request or _parent(_parent(publish, spans), spans) is request
    assert _parent(consume, spans) is publish
    assert _parent(deliver, spans) is consume
    assert _parent(smtp_call, spans) is deliver
    assert deliver.attributes and deliver.attributes["mailpass.message_id"] == message_id
    assert smtp_call.attributes and smtp_call.attributes["mailpass.provider_type"] == "smtp"
    # The database commands of both services: the gateway's insert, the sender's claim
    # (one message: findAndModify) and its record (update).
    commands = {
        s.name.rsplit(".", 1)[-1]
        for s in spans
        if s.kind == SpanKind.CLIENT and trace_hex(s) == trace_id
    }
    assert {"insert", "findAndModify", "update"} <= commands, commands
    claim = _one(spans, name="mailpass.claim")
    assert _parent(claim, spans) is consume
    # Everything this request caused is one trace, the reply back to the gateway included;
    # the only other spans are the services' start-up commands.
    others = [s.name for s in spans if trace_hex(s) != trace_id]
    assert {name.rsplit(".", 1)[-1] for name in others} <= STARTUP_COMMANDS, others
    assert any(
        s.kind == SpanKind.CONSUMER and s.name.endswith("receive") and ".reply." in s.name
        for s in spans
    )


async def test_a_batch_job_delivers_each_message_under_its_consume_span(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    with exported_spans() as exporter:
        async with running_sender(service_env), running_gateway(service_env) as api:
            response = await api.post(
                "/api/v1/mail/send-batch", json={"messages": [MESSAGE] * 3}, headers=tenant.headers
            )
            spans = await _spans_until(exporter, "mailpass.record")
    assert response.status_code == 200, response.text

    request = _one(spans, kind=SpanKind.SERVER, name="POST /api/v1/mail/send-batch")
    consume = _one(spans, kind=SpanKind.CONSUMER)
    deliveries = [s for s in spans if s.name == "mailpass.deliver"]
    assert len(deliveries) == 3
    assert all(_parent(d, spans) is consume for d in deliveries)
    ids = {d.attributes["mailpass.message_id"] for d in deliveries if d.attributes}
    assert ids == {m["message_id"] for m in response.json()["data"]["messages"]}
    # One job: its claim and record round trips are children of its consume span too.
    assert _parent(_one(spans, name="mailpass.claim"), spans) is consume
    assert _parent(_one(spans, name="mailpass.record"), spans) is consume
    mine = [s for s in spans if trace_hex(s) == trace_hex(request)]
    commands = {s.name.rsplit(".", 1)[-1] for s in mine if s.kind == SpanKind.CLIENT}
    assert {"insert", "update", "find"} <= commands, commands
    others = [s.name for s in spans if trace_hex(s) != trace_hex(request)]
    assert {name.rsplit(".", 1)[-1] for name in others} <= STARTUP_COMMANDS, others


async def test_without_an_exporter_the_context_still_travels_with_the_job(
    db: Database,
    service_env: dict[str, Any],
    smtp: SmtpServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """No SDK, nothing recorded: the caller's trace id still reaches the sender (its log
    lines carry it), so a service further on that does export continues the same trace."""
    for variable in (
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_TRACES_EXPORTER",
    ):
        monkeypatch.delenv(variable, raising=False)
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    trace_id, traceparent = _traceparent()
    lines = io.StringIO()
    handler = logging.StreamHandler(lines)
    handler.setFormatter(JsonFormatter())
    sender_log = logging.getLogger("mailpass_sender")
    sender_log.addHandler(handler)
    sender_log.setLevel(logging.INFO)
    try:
        with tracing_without_exporter():
            async with running_sender(service_env), running_gateway(service_env) as api:
                response = await api.post(
                    "/api/v1/mail/send",
                    json=MESSAGE,
                    headers={**tenant.headers, "traceparent": traceparent},
                )
    finally:
        sender_log.removeHandler(handler)
        sender_log.setLevel(logging.NOTSET)
    assert response.status_code == 200, response.text

    [delivered] = [
        json.loads(line) for line in lines.getvalue().splitlines() if '"delivered"' in line
    ]
    assert delivered["trace_id"] == trace_id
