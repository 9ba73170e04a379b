"""Traces: one trace per message, from the gateway's request through the broker to the
provider call.

The OpenTelemetry instrumentations do the work: the server span of each request
(FastAPI), the publish and consume of every job with its W3C trace context in the AMQP
headers (aio-pika), every MongoDB command (pymongo) and every HTTP provider call (httpx);
the sender adds its own spans where no library sees the work (the delivery of one
message, the provider call, the batch claim and record).

Spans are recorded only when they go somewhere. :func:`configure_tracing` reads the
standard ``OTEL_*`` variables: with an exporter configured (``OTEL_EXPORTER_OTLP_ENDPOINT``
or ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, OTLP over HTTP; or ``OTEL_TRACES_EXPORTER=
otlp|console``) it installs the SDK, a batch processor and the instrumentations, and the
sampler, resource and exporter options of the ``OTEL_*`` variables apply.

Without one (the default) nothing is installed. The instrumentations are not free even
over the API's no-op tracer, which records nothing: measured here, the ASGI middleware
costs about 90 µs of CPU per request and the aio-pika wrappers about 60 µs per job
published and consumed, whether the tracer is the no-op one or an SDK whose sampler drops
everything. The context still travels, by hand and for a few microseconds: a request's
``traceparent`` is made current (:func:`instrument_app`), every job carries the current
context in its headers (:func:`inject_context`) and the sender continues it
(:func:`job_context`). So a service further on that does export continues the caller's
trace, and the log lines of every service (:mod:`mailpass_common.platform.telemetry`)
carry its trace id.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import os
from collections.abc import Coroutine, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.context import Context
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.util.types import Attributes

if TYPE_CHECKING:
    from fastapi import FastAPI
    from starlette.types import ASGIApp, Receive, Scope, Send

T = TypeVar("T")


def _exporter_from_env() -> SpanExporter | None:
    """The exporter the standard variables ask for; None when spans go nowhere."""
    if os.environ.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if chosen == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter()
    endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
    )
    if chosen == "otlp" or (endpoint and not chosen):
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    return None


def configure_tracing(
    service_name: str, processor: SpanProcessor | None = None
) -> TracerProvider | None:
    """Install the SDK and the instrumentations when spans go somewhere (module
    docstring); return the provider, or None when tracing is off.

    ``processor`` replaces the exporter the environment names (tests pass one that keeps
    spans in memory). Instrumentation is process-wide and happens once.
    """
    if processor is None:
        exporter = _exporter_from_env()
        if exporter is None:
            return None
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        processor = BatchSpanProcessor(exporter)
    # Imported here: a process that traces nothing never loads them.
    from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor
    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
    from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
    from opentelemetry.sdk.resources import Resource

    name = os.environ.get("OTEL_SERVICE_NAME") or service_name
    # The sampler comes from OTEL_TRACES_SAMPLER (parent-based, always on by default).
    provider = TracerProvider(resource=Resource.create({"service.name": name}))
    provider.add_span_processor(processor)
    trace.set_tracer_provider(provider)
    AioPikaInstrumentor().instrument()
    PymongoInstrumentor().instrument()
    HTTPXClientInstrumentor().instrument()
    return provider


def tracing_on() -> bool:
    return isinstance(trace.get_tracer_provider(), TracerProvider)


def instrument_app(app: FastAPI) -> None:
    """Tracing on: a server span for every request, continuing the caller's trace (the
    per-message ASGI receive/send spans are left out: they only repeat the request's).
    Tracing off: the caller's ``traceparent`` alone is made current."""
    if not tracing_on():
        app.add_middleware(ContinueTrace)
        return
    from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor

    FastAPIInstrumentor.instrument_app(app, exclude_spans=["receive", "send"])


class ContinueTrace:
    """ASGI middleware: a request's W3C trace context, when it has one, is current while
    it is handled (so the jobs it publishes carry it on), without recording a span."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        carrier = {
            name.decode("latin-1"): value.decode("latin-1")
            for name, value in scope.get("headers", ())
            if name in _TRACE_HEADERS
        }
        if not carrier:
            await self.app(scope, receive, send)
            return
        token = otel_context.attach(propagate.extract(carrier))
        try:
            await self.app(scope, receive, send)
        finally:
            otel_context.detach(token)


_TRACE_HEADERS = (b"traceparent", b"tracestate")


def inject_context(headers: dict[str, Any]) -> dict[str, Any]:
    """Add the current trace context to a job's AMQP headers. (With tracing on, the
    publish instrumentation then replaces it with its publish span's.)"""
    propagate.inject(headers)
    return headers


def job_context(headers: Mapping[str, Any] | None) -> Context:
    """The context a consumed job is handled in: the consume span's when the broker
    instrumentation made one (tracing on), otherwise the publisher's, from the headers."""
    current = otel_context.get_current()
    if not headers or "traceparent" not in headers:
        return current
    if trace.get_current_span(current).get_span_context().is_valid:
        return current
    carrier = {
        key: value.decode() if isinstance(value, bytes) else str(value)
        for key, value in headers.items()
        if key in ("traceparent", "tracestate")
    }
    return propagate.extract(carrier, context=current)


def tracer(name: str) -> trace.Tracer:
    """A tracer from the provider installed now: a service takes its own when it is built,
    after :func:`configure_tracing`."""
    return trace.get_tracer(name)


@contextlib.contextmanager
def batch_span(
    tracer_: trace.Tracer, name: str, traces: Sequence[Context], attributes: Attributes
) -> Iterator[trace.Span]:
    """A span for work done at once for several traces (a claim or a record of many
    messages). For one trace (a /send, one batch job) it is a child of it; for several it
    starts a trace of its own linked to each, since a span has one parent (OpenTelemetry's
    convention for batch processing)."""
    parent = traces[0] if len(traces) == 1 else Context()
    with tracer_.start_as_current_span(name, context=parent, attributes=attributes) as span:
        if len(traces) > 1 and span.is_recording():
            for linked in traces:
                span.add_link(trace.get_current_span(linked).get_span_context())
        yield span


def run_in(trace_context: Context | None, coroutine: Coroutine[Any, Any, T]) -> asyncio.Task[T]:
    """A task running ``coroutine`` in ``trace_context``: the spans it starts, and the
    context its publishes carry, belong to that trace (the current one when None)."""
    if trace_context is None:
        return asyncio.ensure_future(coroutine)
    task_context = contextvars.copy_context()
    task_context.run(otel_context.attach, trace_context)
    return asyncio.get_running_loop().create_task(coroutine, context=task_context)
