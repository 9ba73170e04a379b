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
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

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

from mailpass_common.platform.index_keys import IndexShape, shapes_by_collection, write_cost

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
MONGODB_DOCUMENTS_WRITTEN = Counter(
    "mailpass_mongodb_documents_written_total",
    "Documents written by write commands (inserted, modified, upserted, deleted), by collection.",
    ["collection"],
)
MONGODB_INDEX_KEYS = Counter(
    "mailpass_mongodb_index_keys_written_total",
    "Index keys the write commands inserted and deleted (an estimate from the declared "
    "indexes, as MongoDB's keysInserted + keysDeleted), by collection.",
    ["collection"],
)
WRITE_COMMANDS = frozenset({"insert", "update", "delete", "findAndModify"})
# Commands started and not yet answered; bounded in case an answer never comes.
_PENDING_LIMIT = 10_000
_MONGODB_COMMAND = children(MONGODB_COMMANDS)
_DOCUMENTS_WRITTEN = children(MONGODB_DOCUMENTS_WRITTEN)
_INDEX_KEYS = children(MONGODB_INDEX_KEYS)


class CommandCounter(monitoring.CommandListener):
    """Counts every MongoDB round trip, and what each write command wrote: ``make bench``
    divides them by messages delivered.

    A write command is kept from its start to its reply (which says how many documents it
    wrote); its cost is worked out then (:mod:`mailpass_common.platform.index_keys`).
    Any other command costs a counter increment.
    """

    def __init__(self, ttl_indexes: bool = True) -> None:
        self._shapes = shapes_by_collection(ttl_indexes)
        self._pending: dict[tuple[int, Any], tuple[str, Mapping[str, Any]]] = {}

    def started(self, event: monitoring.CommandStartedEvent) -> None:
        name = event.command_name
        _MONGODB_COMMAND(name).inc()
        if name in WRITE_COMMANDS:
            if len(self._pending) >= _PENDING_LIMIT:
                self._pending.clear()
            self._pending[(event.request_id, event.connection_id)] = (name, event.command)

    def succeeded(self, event: monitoring.CommandSucceededEvent) -> None:
        if event.command_name not in WRITE_COMMANDS:
            return
        started = self._pending.pop((event.request_id, event.connection_id), None)
        if started is None:
            return
        name, command = started
        collection = str(command.get(name, ""))
        shapes: tuple[IndexShape, ...] = self._shapes.get(collection, ())
        documents, keys = write_cost(shapes, name, command, event.reply)
        if documents:
            _DOCUMENTS_WRITTEN(collection).inc(documents)
        if keys:
            _INDEX_KEYS(collection).inc(keys)

    def failed(self, event: monitoring.CommandFailedEvent) -> None:
        self._pending.pop((event.request_id, event.connection_id), None)


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
