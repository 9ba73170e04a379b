"""What moves through the pipeline's stages (:mod:`pipeline`): a job as it came off its
queue, one message of it, and the list a stage's worker drains in batches."""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass

from aio_pika.abc import AbstractIncomingMessage
from opentelemetry.context import Context

from mailpass_common.platform.jobs import SendJob


@dataclass
class Delivery:
    """One job as it came off the queue, and how many of its messages are still open."""

    job: SendJob
    message: AbstractIncomingMessage
    open: int
    # The consume span's context: its messages' deliveries, retries and reply belong to it.
    trace: Context
    given_back: bool = False


@dataclass(frozen=True)
class Item:
    """One message of a job, as it moves through the stages."""

    delivery: Delivery
    message_id: str


class Stage:
    """A list that a worker task drains in batches, waking when something arrives."""

    def __init__(self) -> None:
        self.items: deque[object] = deque()
        self.ready = asyncio.Event()

    def put(self, item: object) -> None:
        self.items.append(item)
        self.ready.set()

    def take(self, limit: int) -> list[object]:
        taken = [self.items.popleft() for _ in range(min(limit, len(self.items)))]
        if not self.items:
            self.ready.clear()
        return taken
