"""Prometheus metrics every service shares, and the exposition of ``/metrics``.

Naming follows Prometheus conventions: the ``mailpass_`` prefix, base units
(``_seconds``), ``_total`` for counters, and labels with a bounded set of values (never
a message id or an address).

Several worker processes: when ``PROMETHEUS_MULTIPROC_DIR`` is set (the gateway sets it
for its workers), prometheus-client keeps values in files there and :func:`exposition`
aggregates every process's, so whichever worker answers a scrape answers for all.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    generate_latest,
    multiprocess,
)
from prometheus_client.metrics import MetricWrapperBase
from pymongo import monitoring

M = TypeVar("M", bound=MetricWrapperBase)


def children(metric: M) -> Callable[..., M]:
    """``metric.labels`` remembered per label values: ``labels()`` takes a lock and
    validates its values on every call, which the per-request and per-command metrics
    paid each time. The values are bounded (the naming rule above), and so is this."""
    known: dict[tuple[str, ...], M] = {}

    def child(*values: str) -> M:
        found = known.get(values)
        if found is None:
            found = known[values] = metric.labels(*values)
        return found

    return child


MONGODB_COMMANDS = Counter(
    "mailpass_mongodb_commands_total",
    "Commands sent to MongoDB (round trips), by command name.",
    ["command"],
)
_MONGODB_COMMAND = children(MONGODB_COMMANDS)


class CommandCounter(monitoring.CommandListener):
    """Counts every MongoDB round trip: ``make bench`` divides them by messages delivered."""

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        _MONGODB_COMMAND(event.command_name).inc()

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        pass

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        pass


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def exposition(*extra: CollectorRegistry) -> tuple[bytes, str]:
    """The text exposition of this process's metrics (or of all workers' together), and of
    any registry of the service's own (the scheduler's run metrics)."""
    if multiprocess_dir() is None:
        body = generate_latest(REGISTRY)
    else:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        body = generate_latest(registry)
    return body + b"".join(generate_latest(r) for r in extra), CONTENT_TYPE_LATEST
