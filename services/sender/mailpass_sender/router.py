"""Where a job goes when it is not done: RabbitMQ's side of :class:`models.JobRouter`."""

from __future__ import annotations

from mailpass_common.platform.broker import JobPublisher
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_sender.retry import RetryDelay


class BrokerJobRouter:
    """Parks deferred jobs in delay queues and exhausted ones in the dead-letter queue."""

    def __init__(self, publisher: JobPublisher) -> None:
        self._publisher = publisher

    async def retry_later(self, job: SendJob, kind: MessageKind, delay: RetryDelay) -> None:
        await self._publisher.publish_retry(
            job, kind, nominal_seconds=delay.nominal_seconds, delay_seconds=delay.seconds
        )

    async def dead_letter(self, job: SendJob, *, error: str) -> None:
        await self._publisher.publish_dead(job, reason="exhausted", error=error)
