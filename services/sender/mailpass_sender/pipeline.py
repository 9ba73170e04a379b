"""The RabbitMQ adapter around :mod:`flows`: jobs in, claims and outcomes in bulk, acks out.

One :class:`QueuePipeline` per work queue (immediate, batch), each on a channel of its
own, so a flood of batch jobs never waits in front of a ``/send``. Jobs move through
three stages, and each stage takes whatever has piled up while it was busy:

    deliveries ─► intake ─► claim (one round trip for the lot) ─► attempt (concurrent,
    up to each provider's connection cap) ─► decided ─► record (one round trip) ─► reply, ack

Under load, batches fill up to ``sender_batch_size`` by themselves; a lone ``/send`` job
goes through at once, alone. A job is acked only after its outcome is recorded (and any
retry or dead-letter job confirmed); if anything fails before that, it is returned to its
queue (the quorum queue's delivery limit dead-letters a job that keeps failing). While
the database is unreachable, recording is retried (:mod:`recording`). Outcomes that also
need the broker (a retry to park, a dead letter) retry on their own, so a broker outage
never keeps delivered messages unrecorded.

Replies go to the gateway waiting on ``/send``: the job it published carries
``reply_to``; retries do not, so the gateway hears the final outcome or the first
deferral (it then answers 202 and the status endpoint tells the rest).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractContextManager

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from opentelemetry import context as otel_context

from mailpass_common.messages import service as messages
from mailpass_common.messages.models import MessageStatus
from mailpass_common.messages.replies import SendReply
from mailpass_common.platform import telemetry, tracing
from mailpass_common.platform.formats import UnsupportedFormat
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.platform.telemetry import log_fields
from mailpass_sender import claiming, flows, recording
from mailpass_sender.metrics import BATCH_SIZE, JOBS
from mailpass_sender.models import Claimed, Decision, DeliveryContext, DeliveryOutcome
from mailpass_sender.stages import Delivery, Item, Stage

log = logging.getLogger(__name__)


class QueuePipeline:
    def __init__(self, kind: MessageKind, context: DeliveryContext) -> None:
        self.kind = kind
        self._ctx = context
        self._batch_size = context.settings.sender_batch_size
        # Batch jobs wait a moment for company: fewer, fuller round trips. A /send never waits.
        self._linger = (
            0.0 if kind is MessageKind.IMMEDIATE else context.settings.sender_batch_linger_seconds
        )
        self._intake = Stage()
        self._decided = Stage()
        self._busy: set[asyncio.Task[None]] = set()  # attempts under way
        self._handling = 0  # items in a claim or a record that has not returned yet
        self._workers: list[asyncio.Task[None]] = []
        self._channel: AbstractChannel | None = None
        self._queue: AbstractQueue | None = None
        self._consumer_tag: str | None = None
        self._settled = asyncio.Event()  # set whenever nothing is in flight
        self._tracer = tracing.tracer("mailpass.sender")

    @property
    def in_flight(self) -> int:
        waiting = len(self._intake.items) + len(self._decided.items)
        return waiting + len(self._busy) + self._handling

    async def start(self, channel: AbstractChannel, queue: AbstractQueue) -> None:
        self._channel, self._queue = channel, queue
        self._workers = [
            asyncio.create_task(self._run(self._intake, self._claim), name=f"claim-{self.kind}"),
            asyncio.create_task(self._run(self._decided, self._record), name=f"record-{self.kind}"),
        ]
        self._consumer_tag = await queue.consume(self._on_message)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            job = SendJob.decode(message.body)
        except (ValueError, KeyError, TypeError) as exc:
            # A newer release's format (mid-upgrade) is refused, never guessed at: the
            # dead-letter queue keeps it for a replay once every sender reads it.
            log.error(
                "job dead-lettered: %s",
                exc if isinstance(exc, UnsupportedFormat) else "not a job",
                extra=log_fields(body=message.body[:200]),
            )
            await message.reject(requeue=False)
            JOBS.labels(self.kind.value, "rejected").inc()
            return
        trace = tracing.job_context(message.headers)
        delivery = Delivery(job, message, open=len(job.message_ids), trace=trace)
        for message_id in job.message_ids:
            self._intake.put(Item(delivery, message_id))

    async def _run(self, stage: Stage, handle: Callable[..., Awaitable[None]]) -> None:
        while True:
            await stage.ready.wait()
            if self._linger and len(stage.items) < self._batch_size:
                await asyncio.sleep(self._linger)
            batch = stage.take(self._batch_size)
            if batch:
                BATCH_SIZE.labels(self.kind.value).observe(len(batch))
                self._handling += len(batch)  # still in flight while a claim or record runs
                try:
                    await handle(batch)
                except Exception:
                    log.exception("sender pipeline stage failed", extra=log_fields(kind=self.kind))
                finally:
                    self._handling -= len(batch)
                    self._check_settled()

    async def _claim(self, batch: Sequence[Item]) -> None:
        batch = await self._without_held(batch)
        if not batch:
            return
        # Several jobs for one message (a republished job beside the original): the first
        # takes the claim, the others find it taken.
        try:
            with self._batch_span("mailpass.claim", batch):
                taken = await claiming.take(self._ctx, self.kind, batch)
        except Exception:
            log.exception("claim failed; jobs requeued", extra=log_fields(messages=len(batch)))
            await self._give_back(batch)
            return
        skipped = []
        for item in batch:
            found = taken.get(item.message_id)
            if found is None or found.item is not item:
                skipped.append(item)
                continue
            claim = Claimed(
                item.delivery.job,
                self.kind,
                found.message,
                trace=item.delivery.trace,
                taken_at=found.taken_at,
            )
            task = asyncio.create_task(self._attempt(claim, item))
            self._busy.add(task)
            task.add_done_callback(self._busy.discard)
        if skipped:
            await self._skip(skipped)

    async def _without_held(self, batch: Sequence[Item]) -> Sequence[Item]:
        """The items to claim; those of suspended accounts are held: their jobs are acked
        unclaimed, the messages stay ``queued``, and the scheduler's recovery publishes
        them again once the account is unsuspended (nothing is lost, nothing is sent)."""
        try:  # (in the jobs' traces: a cache miss reads the accounts)
            with self._batch_span("mailpass.suspensions", batch):
                held = await self._ctx.suspended(item.delivery.job.account_id for item in batch)
        except Exception:
            log.exception("suspension check failed; jobs requeued")
            await self._give_back(batch)
            return []
        on_hold = [item for item in batch if item.delivery.job.account_id in held]
        await claiming.give_up(self._ctx, on_hold)
        for item in on_hold:
            log.info("job held: account suspended", extra=log_fields(message_id=item.message_id))
            outcome = DeliveryOutcome(item.message_id, MessageStatus.QUEUED, None, False)
            await self._finish(item, outcome)
        return [item for item in batch if item.delivery.job.account_id not in held]

    async def _skip(self, skipped: Sequence[Item]) -> None:
        """Messages final already or leased elsewhere: a /send job's reply tells its state."""
        states = {}
        if any(item.delivery.message.reply_to for item in skipped):
            with contextlib.suppress(Exception):  # no state: the gateway answers 202
                states = await messages.current_states(
                    self._ctx.db, [item.message_id for item in skipped]
                )
        for item in skipped:
            doc = states.get(item.message_id)
            status = MessageStatus(doc["status"]) if doc else MessageStatus.QUEUED
            error = doc.get("error_message") if doc else None
            log.info("job skipped", extra=log_fields(message_id=item.message_id, status=status))
            await self._finish(item, DeliveryOutcome(item.message_id, status, error, False))

    async def _attempt(self, claimed: Claimed, item: Item) -> None:
        with (
            telemetry.message_scope(item.message_id),
            self._tracer.start_as_current_span(
                "mailpass.deliver",
                context=item.delivery.trace,
                attributes={
                    "mailpass.message_id": item.message_id,
                    "mailpass.kind": self.kind.value,
                },
            ),
        ):
            try:
                decision = await flows.attempt(claimed, self._ctx)
            except Exception:
                log.exception(
                    "delivery crashed; job requeued", extra=log_fields(message_id=item.message_id)
                )
                await self._give_back([item])
                return
        self._decided.put((item, decision))

    async def _record(self, batch: Sequence[tuple[Item, Decision]]) -> None:
        """Record a batch of decisions. Those that also need the broker (a retry to park, a
        dead letter) are recorded by a task of their own: while RabbitMQ is away they wait
        and retry, and must not hold up the outcomes that need only MongoDB. A delivered
        message left unrecorded meanwhile is one a crash of this sender would send again."""
        brokered = [(item, d) for item, d in batch if d.delay is not None or d.dead_letter]
        if brokered:
            task = asyncio.create_task(self._record_with_retries(brokered))
            self._busy.add(task)
            task.add_done_callback(self._recorded)
        plain = [(item, d) for item, d in batch if d.delay is None and not d.dead_letter]
        if plain:
            await self._record_with_retries(plain)

    def _recorded(self, task: asyncio.Task[None]) -> None:
        self._busy.discard(task)
        self._check_settled()

    async def _record_with_retries(self, batch: Sequence[tuple[Item, Decision]]) -> None:
        outcomes = await recording.record_with_retries(
            [decision for _, decision in batch],
            self._ctx,
            lambda: self._batch_span("mailpass.record", [item for item, _ in batch]),
        )
        if outcomes is None:
            await self._give_back([item for item, _ in batch])
            return
        for (item, _), outcome in zip(batch, outcomes, strict=True):
            await self._finish(item, outcome)

    async def _finish(self, item: Item, outcome: DeliveryOutcome) -> None:
        """One message of a job is done: reply (a /send job), and ack once all are."""
        delivery = item.delivery
        if delivery.given_back:
            return  # the job went back to its queue: its messages are seen to again
        message = delivery.message
        delivery.open -= 1
        # The reply's publish span joins the job's trace (the gateway's reply consumer goes on).
        token = otel_context.attach(delivery.trace)
        try:
            if message.reply_to and self._channel is not None:
                reply = SendReply(outcome.message_id, outcome.status, outcome.error_message)
                await self._channel.default_exchange.publish(
                    aio_pika.Message(
                        reply.encode(),
                        content_type="application/json",
                        correlation_id=message.correlation_id,
                    ),
                    routing_key=message.reply_to,
                )
            if delivery.open == 0:
                await message.ack()
                JOBS.labels(self.kind.value, "done").inc()
        except Exception as exc:  # the channel is gone: RabbitMQ redelivers the job
            log.warning(
                "ack failed", extra=log_fields(message_id=outcome.message_id, error=str(exc))
            )
        finally:
            otel_context.detach(token)
        self._check_settled()

    def _batch_span(self, name: str, items: Sequence[Item]) -> AbstractContextManager[object]:
        """A span for one round trip on behalf of several messages (their jobs' traces)."""
        traces = list({id(item.delivery): item.delivery.trace for item in items}.values())
        attributes = {"messaging.batch.message_count": len(items), "mailpass.kind": self.kind.value}
        return tracing.batch_span(self._tracer, name, traces, attributes)

    async def _give_back(self, items: Sequence[Item]) -> None:
        for delivery in {id(item.delivery): item.delivery for item in items}.values():
            if delivery.given_back:
                continue
            delivery.given_back = True
            with contextlib.suppress(Exception):
                await delivery.message.nack(requeue=True)
            JOBS.labels(self.kind.value, "requeued").inc()
        self._check_settled()

    def _check_settled(self) -> None:
        if not self.in_flight:
            self._settled.set()

    async def stop(self, timeout: float) -> None:
        """Stop taking jobs, let those in flight finish (up to ``timeout``), stop the workers."""
        if self._queue is not None and self._consumer_tag is not None:
            with contextlib.suppress(Exception):
                await self._queue.cancel(self._consumer_tag)
        if self.in_flight:
            self._settled.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._settled.wait(), timeout)
        for worker in self._workers:
            worker.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
