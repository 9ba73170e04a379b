"""Writes opens and clicks to the ``events`` collection in bulk, off the request path.

A request handler only verifies the token and calls :meth:`EventWriter.enqueue`, which
never waits: the pixel and the redirect are answered whether MongoDB is fast, slow or
down. A background task writes what is buffered with one ``insert_many`` per batch (every
``tracker_flush_interval_seconds``, or as soon as a batch is full), after resolving each
event's ``account_id`` (and its message's send time, for classification) with one query
for the whole batch: tokens carry nothing but the message id, link index and target.

Delivery guarantees, on purpose:

- **Graceful shutdown loses nothing.** uvicorn stops accepting requests and finishes
  those in flight before the lifespan ends; :meth:`EventWriter.close` then writes
  everything still buffered, retrying for up to ``tracker_drain_timeout_seconds``.
- **A crash loses what is buffered** (at most one flush interval's events, or the whole
  buffer while the database is down): tracking events are at-most-once. Making them
  durable would need a write (to MongoDB or a broker) before answering each pixel, which
  is exactly the wait this design removes; an open or click is a statistic, not a
  message the platform promised to deliver.
- **The buffer is bounded and fair between accounts; when full, the oldest event of the
  account holding the most gives way** (counted in
  ``mailpass_tracker_events_dropped_total{reason="buffer_full"}``; see
  :mod:`mailpass_tracker.fair_buffer`). Blocking the request instead would turn a
  database outage into pixel timeouts and pile up open connections, and the client would
  give up anyway, so the event would be lost all the same. Dropping the oldest keeps the
  most recent window of activity, which is what live dashboards and a sender checking on
  a message just sent look at; dropping from the largest share means one account
  flooding its own links cannot push out the events of the others.
- **One open per message, IP and minute**: the others are counted
  (``mailpass_tracker_opens_deduplicated_total``) and not written, in memory before they
  reach the buffer, and in the database across tracker replicas (such opens share an
  ``_id``). Clicks are all kept: each says which link was followed.
- **A retried batch is never written twice**: each event gets its ``_id`` when it is
  buffered, and a duplicate-key error on retry means an earlier attempt already landed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pymongo
from bson import ObjectId
from pymongo.errors import PyMongoError

from mailpass_common.messages import events
from mailpass_common.messages import service as messages
from mailpass_common.messages import webhook_events as producers
from mailpass_common.messages.models import EventType, MessageDocument
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.webhooks import outbox
from mailpass_common.webhooks.endpoints import EndpointDirectory
from mailpass_tracker.classify import EventKind, classify
from mailpass_tracker.fair_buffer import FairBuffer, KnownAccounts, RecentOpens, open_event_id
from mailpass_tracker.metrics import (
    BUFFER_DEPTH,
    EVENTS_DROPPED,
    EVENTS_RECORDED,
    FLUSH_FAILURES,
    FLUSH_SECONDS,
    OPENS_DEDUPLICATED,
)

log = logging.getLogger(__name__)

RETRY_MIN_SECONDS = 0.2
RETRY_MAX_SECONDS = 5.0


@dataclass(frozen=True)
class TrackingHit:
    """One verified open or click, as it waits in the buffer."""

    message_id: str
    event_type: EventType
    ip_address: str | None
    user_agent: str | None
    url: str | None = None
    link_index: int | None = None
    # The time of the request, not of the write: events stay in the order they happened.
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    event_id: ObjectId = field(default_factory=ObjectId)

    @classmethod
    def open(cls, message_id: str, ip_address: str | None, user_agent: str | None) -> TrackingHit:
        """An open, with the ``_id`` it shares with the same reader's opens this minute."""
        now = datetime.now(UTC)
        return cls(
            message_id,
            EventType.OPEN,
            ip_address,
            user_agent,
            created_at=now,
            event_id=open_event_id(message_id, ip_address, now),
        )


def _sent_time(message: MessageDocument) -> datetime | None:
    """When the message left, for the scanner timing rule; its claim if not yet recorded
    (a gateway scanning at delivery can click before the sender records ``sent``)."""
    for name in ("sent_at", "claimed_at"):
        value = message.get(name)
        if isinstance(value, datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def event_document(hit: TrackingHit, message: MessageDocument) -> Document:
    """The ``events`` document for one hit: the shared event shape, with the reader's
    address, agent and classification (and the link, for a click)."""
    sent = _sent_time(message)
    seconds_since_sent = (hit.created_at - sent).total_seconds() if sent else None
    kind: EventKind = "open" if hit.event_type is EventType.OPEN else "click"
    extra: dict[str, Any] = {}
    if hit.event_type is EventType.CLICK:
        extra = {"url": hit.url, "link_index": hit.link_index}
    return events.event_document(
        message_id=hit.message_id,
        account_id=message["account_id"],
        event_type=hit.event_type,
        sandbox=bool(message.get("sandbox")),
        created_at=hit.created_at,
        _id=hit.event_id,
        ip_address=hit.ip_address,
        user_agent=hit.user_agent,
        classification=classify(hit.user_agent, hit.ip_address, kind, seconds_since_sent),
        **extra,
    )


@dataclass(frozen=True)
class Written:
    written: list[Document]
    duplicates: list[Document]  # opens of a reader who opened this minute already


async def write_events(
    db: Database, hits: list[TrackingHit], webhooks: EndpointDirectory | None = None
) -> Written:
    """Resolve accounts for ``hits`` in one query and insert their events in one call.

    Hits whose message does not exist are dropped: a valid token for a deleted message
    (or one signed by another installation sharing the key) has no account to show it to.
    """
    found = await messages.send_times(db, sorted({hit.message_id for hit in hits}))
    docs = [event_document(hit, found[hit.message_id]) for hit in hits if hit.message_id in found]
    skipped = await events.insert_events(db, docs)
    # Counted once the batch is through, so a retried batch is not counted twice. (A
    # retried batch whose first attempt landed counts its opens as deduplicated.)
    if len(docs) < len(hits):
        EVENTS_DROPPED.labels("unknown_message").inc(len(hits) - len(docs))
    skipped_ids = {doc["_id"] for doc in skipped}
    duplicates = [doc for doc in docs if doc["_id"] in skipped_ids]
    if webhooks is not None:
        # Reported in the same write (mailpass_common.webhooks.outbox), every event of the
        # batch, skipped ones too: a retried batch whose first try wrote the events but not
        # this finds them skipped. Keyed by the event's id, each is reported once.
        reported = [producers.tracking_event(doc, found[doc["message_id"]]) for doc in docs]
        await outbox.emit_many(db, webhooks, reported)
    OPENS_DEDUPLICATED.inc(sum(1 for doc in duplicates if doc["event_type"] == EventType.OPEN))
    return Written([doc for doc in docs if doc["_id"] not in skipped_ids], duplicates)


class EventWriter:
    """A bounded buffer of tracking hits and the task that writes them (module docstring)."""

    def __init__(
        self,
        db: Database,
        *,
        capacity: int,
        batch_size: int,
        flush_interval: float,
        write_timeout: float,
        webhook_cache_seconds: float = 5.0,
    ) -> None:
        self._db = db
        self._webhooks = EndpointDirectory(db, webhook_cache_seconds)
        self._buffer: FairBuffer[TrackingHit] = FairBuffer(capacity)
        # Enough to place the events of every message read in the last hours; a few MB.
        self._accounts = KnownAccounts(capacity=max(10 * capacity, 10_000))
        self._recent_opens = RecentOpens(capacity=10 * capacity)
        self._pending: list[TrackingHit] = []  # the batch being written or retried
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._write_timeout = write_timeout
        self._wake = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    @property
    def depth(self) -> int:
        return len(self._buffer) + len(self._pending)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def enqueue(self, hit: TrackingHit) -> None:
        """Buffer one hit; never waits. When full, the account holding the most buffered
        hits loses its oldest. A repeated open within the minute is only counted."""
        if hit.event_type is EventType.OPEN and not self._recent_opens.first_in_minute(
            hit.message_id, hit.ip_address, hit.created_at
        ):
            OPENS_DEDUPLICATED.inc()
            return
        if self._buffer.put(self._accounts.get(hit.message_id), hit) is not None:
            EVENTS_DROPPED.labels("buffer_full").inc()
        BUFFER_DEPTH.set(self.depth)
        if len(self._buffer) >= self._batch_size:
            self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="tracker-event-writer")

    async def close(self, timeout: float) -> None:
        """Write everything buffered, for up to ``timeout`` seconds; then give up on the rest."""
        self._closing = True
        self._wake.set()
        if self._task is None:
            return
        try:
            await asyncio.wait_for(self._task, timeout)
        except TimeoutError:
            if self.depth:
                EVENTS_DROPPED.labels("shutdown").inc(self.depth)
                log.error(
                    "tracking events lost: the database did not take them before shutdown",
                    extra=log_fields(events=self.depth, timeout_seconds=timeout),
                )
        BUFFER_DEPTH.set(0)

    async def _run(self) -> None:
        delay = RETRY_MIN_SECONDS
        while True:
            if not self._closing:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._flush_interval)
                self._wake.clear()
            if await self._flush_buffered():
                delay = RETRY_MIN_SECONDS
                if self._closing and not self.depth:
                    return
            else:
                await asyncio.sleep(delay)
                delay = min(delay * 2, RETRY_MAX_SECONDS)

    async def _flush_buffered(self) -> bool:
        """Write batches until the buffer is empty; False when a write failed."""
        while self._pending or self._buffer:
            if not self._pending:
                self._pending = self._buffer.take(self._batch_size)
            started = time.perf_counter()
            try:
                with pymongo.timeout(self._write_timeout):
                    written = await write_events(self._db, self._pending, self._webhooks)
            except PyMongoError as exc:
                FLUSH_FAILURES.inc()
                log.warning(
                    "writing tracking events failed; will retry",
                    extra=log_fields(events=len(self._pending), error=str(exc)),
                )
                return False
            except Exception:
                # Not the database: retrying the same batch would fail the same way and
                # stop the writer for good. Drop it, loudly, and carry on.
                EVENTS_DROPPED.labels("write_error").inc(len(self._pending))
                log.exception(
                    "tracking events dropped: they could not be turned into documents",
                    extra=log_fields(events=len(self._pending)),
                )
                self._pending = []
                continue
            FLUSH_SECONDS.observe(time.perf_counter() - started)
            for doc in written.written:
                EVENTS_RECORDED.labels(doc["event_type"], doc["classification"]).inc()
            for doc in written.written + written.duplicates:
                self._accounts.remember(doc["message_id"], doc["account_id"])
            self._pending = []
            BUFFER_DEPTH.set(self.depth)
        return True
