"""The dead-letter queue read: every job in ``{prefix}.dead`` with why it is there, for
``mailpass dlq list|replay`` (:mod:`mailpass_common.platform.broker` puts them there)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from mailpass_common.platform.broker import (
    DEAD_ERROR,
    DEAD_REASON,
    Topology,
    declare_dead_letter_queue,
)
from mailpass_common.platform.formats import UnsupportedFormat
from mailpass_common.platform.jobs import SendJob


@dataclass(frozen=True)
class DeadLetter:
    """One job in the dead-letter queue, held (unacked) by the channel that read it."""

    message: AbstractIncomingMessage
    job: SendJob | None  # None: the body is not a job at all
    reason: str
    error: str


def _dead_letter(message: AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    unreadable = ""
    try:
        job: SendJob | None = SendJob.decode(message.body)
    except (ValueError, KeyError, TypeError) as exc:
        job = None
        # A newer release's job (rejected by a sender mid-upgrade) says so.
        unreadable = str(exc) if isinstance(exc, UnsupportedFormat) else ""
    # Jobs RabbitMQ dead-lettered itself (delivery limit, rejected) carry its reason.
    reason = headers.get(DEAD_REASON) or headers.get("x-first-death-reason") or "unknown"
    error = headers.get(DEAD_ERROR) or unreadable
    return DeadLetter(message, job, _text(reason), _text(error))


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


async def read_dead_letters(channel: AbstractChannel, topology: Topology) -> list[DeadLetter]:
    """Every job in the dead-letter queue, unacked: closing the channel puts back what was
    not acked, so reading is also how ``list`` peeks without removing anything."""
    queue = await declare_dead_letter_queue(channel, topology)
    found = []
    while (message := await queue.get(no_ack=False, fail=False)) is not None:
        found.append(_dead_letter(message))
    return found
