"""Logs: JSON lines carrying the trace id, the request id and the message id, and the
one call a service's ``main`` makes (:func:`setup`) to configure logs and traces
(:mod:`mailpass_common.platform.tracing`)."""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any, TextIO

from opentelemetry import trace

from mailpass_common.platform.tracing import configure_tracing

_configured = False


# The message a piece of work is about, for the log lines written while it is done.
_current_message_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mailpass_message_id", default=None
)


# The HTTP request being answered (its X-Request-Id), for the lines written meanwhile.
_current_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "mailpass_request_id", default=None
)


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``ts`` (UTC), ``level``, ``service``, ``logger``,
    ``message``, the current ``trace_id`` and ``span_id`` (when there is a trace context:
    tracing on, or a caller that sent one), ``request_id`` while an HTTP request is
    answered, ``message_id`` when the line is about one message, then the fields of
    :func:`log_fields` and any traceback (``exc``).

    What goes in is the caller's choice, so the rule is kept at the call sites: ids,
    statuses, counts and the provider's reply; never a message's content, an address
    list or a credential. Libraries that log request bodies at DEBUG are held at
    WARNING (:func:`configure_logging`).
    """

    def __init__(self, service: str = "mailpass") -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "message": record.getMessage(),
        }
        span = trace.get_current_span().get_span_context()
        if span.is_valid:
            entry["trace_id"] = format(span.trace_id, "032x")
            entry["span_id"] = format(span.span_id, "016x")
        request_id = _current_request_id.get()
        if request_id is not None:
            entry["request_id"] = request_id
        message_id = _current_message_id.get()
        if message_id is not None:
            entry["message_id"] = message_id
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


# Loggers that would write message content or credentials at DEBUG (PyMongo's command
# log holds whole documents, botocore logs request bodies) or that only add noise.
QUIET_LOGGERS = (
    "aiormq",
    "aio_pika",
    "pymongo",
    "botocore",
    "aiobotocore",
    "httpx",
    "httpcore",
    "mail.log",
)


def configure_logging(
    service_name: str, log_level: str = "INFO", stream: TextIO | None = None
) -> logging.Handler:
    """JSON lines on ``stream`` (stdout) for every logger; returns the handler."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(JsonFormatter(os.environ.get("OTEL_SERVICE_NAME") or service_name))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(log_level.upper())
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    return handler


@contextlib.contextmanager
def request_scope(request_id: str) -> Iterator[None]:
    """Log lines written inside carry ``request_id``."""
    token = _current_request_id.set(request_id)
    try:
        yield
    finally:
        _current_request_id.reset(token)


@contextlib.contextmanager
def message_scope(message_id: str) -> Iterator[None]:
    """Log lines written inside carry ``message_id``."""
    token = _current_message_id.set(message_id)
    try:
        yield
    finally:
        _current_message_id.reset(token)


def setup(service_name: str, log_level: str = "INFO") -> None:
    """Configure JSON logging and tracing once per process (a service's ``main``)."""
    global _configured
    if _configured:
        return
    _configured = True
    configure_logging(service_name, log_level)
    configure_tracing(service_name)


def log_fields(**fields: Any) -> dict[str, Any]:
    """``logger.info("...", extra=log_fields(message_id=...))`` adds structured fields."""
    return {"fields": fields}
