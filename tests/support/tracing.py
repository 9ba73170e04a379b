"""Tracing in a test's process: the services' real set-up, with spans kept in memory.

The tracer provider and the instrumentations are process-wide. Each test that traces
installs them the way a service's ``main`` does (:func:`mailpass_common.platform.tracing.
configure_tracing`) and takes them away afterwards, as OpenTelemetry's own test utilities
do, so the tests around it run as a service without an exporter does. Services take their
tracers when they are built, so those built inside the block trace and the others do not.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opentelemetry import trace
from opentelemetry.instrumentation.aio_pika import AioPikaInstrumentor
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.util._once import Once

from mailpass_common.platform import tracing


def _reset_global_provider() -> None:
    trace._TRACER_PROVIDER_SET_ONCE = Once()
    trace._TRACER_PROVIDER = None


def _uninstrument() -> None:
    for instrumentor in (AioPikaInstrumentor(), PymongoInstrumentor(), HTTPXClientInstrumentor()):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()
    # The pymongo instrumentation keeps its listener, and the tracer it was made with,
    # for the process (PyMongo cannot unregister a listener): forget it, so the next test
    # registers one with its own provider.
    PymongoInstrumentor()._commandtracer_instance = None  # the instrumentor is a singleton


@contextlib.contextmanager
def exported_spans() -> Iterator[InMemorySpanExporter]:
    """Tracing on, as with an exporter configured; every finished span is kept."""
    exporter = InMemorySpanExporter()
    _reset_global_provider()
    provider = tracing.configure_tracing("mailpass-test", SimpleSpanProcessor(exporter))
    assert provider is not None
    try:
        yield exporter
    finally:
        provider.shutdown()
        _uninstrument()
        _reset_global_provider()


@contextlib.contextmanager
def tracing_without_exporter() -> Iterator[None]:
    """Tracing as a service without any ``OTEL_*`` exporter variable sets it up."""
    _reset_global_provider()
    assert tracing.configure_tracing("mailpass-test") is None
    try:
        yield
    finally:
        _uninstrument()


def trace_hex(span: ReadableSpan) -> str:
    assert span.context is not None
    return format(span.context.trace_id, "032x")
