"""What travels on the send queues: a job names messages to deliver, of one kind.

Jobs carry ids, never content: the message document in MongoDB is the source of truth.
A job says its format (``v``, :mod:`mailpass_common.platform.formats`): the previous
release and this one consume the same queues during a rolling upgrade.
The sender's answer to a ``/send`` job is :class:`mailpass_common.messages.replies.SendReply`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

from mailpass_common.platform.formats import FORMAT_FIELD, format_version


class MessageKind(StrEnum):
    IMMEDIATE = "immediate"  # POST /mail/send: published at once, the gateway awaits the result
    BATCH = "batch"  # POST /mail/send-batch: published by the scheduler within send limits


# Most messages one job names: a batch job is claimed, and its outcomes recorded, together.
MAX_JOB_MESSAGES = 100
# The format :meth:`SendJob.encode` writes; :meth:`SendJob.decode` reads it and the one before.
JOB_FORMAT = 1


@dataclass(frozen=True)
class SendJob:
    """Deliver these messages of one account (one for ``/send``, up to a hundred when the
    scheduler or the gateway publishes a batch, so the broker sees one job per chunk)."""

    account_id: str
    message_ids: tuple[str, ...]
    # The claim its messages were stored holding (given at acceptance, by whoever
    # publishes them at once: mailpass_common.messages.claims). Optional in the format:
    # a sender that does not know it claims as before.
    claim: str | None = None

    def __post_init__(self) -> None:
        if not 1 <= len(self.message_ids) <= MAX_JOB_MESSAGES:
            raise ValueError(f"a job names 1 to {MAX_JOB_MESSAGES} messages")

    @classmethod
    def of(
        cls, account_id: str, message_ids: Sequence[str], claim: str | None = None
    ) -> list[SendJob]:
        """Jobs for ``message_ids``, as few as the size limit allows."""
        ids = list(message_ids)
        step = MAX_JOB_MESSAGES
        return [cls(account_id, tuple(ids[i : i + step]), claim) for i in range(0, len(ids), step)]

    def encode(self) -> bytes:
        body: dict[str, object] = {
            FORMAT_FIELD: JOB_FORMAT,
            "account_id": self.account_id,
            "message_ids": list(self.message_ids),
        }
        if self.claim is not None:
            body["claim"] = self.claim
        return json.dumps(body).encode()

    @classmethod
    def decode(cls, body: bytes) -> SendJob:
        """The job in ``body``; ``UnsupportedFormat`` (a ``ValueError``) when a newer
        release wrote it, ``ValueError``, ``KeyError`` or ``TypeError`` when it is no job."""
        data = json.loads(body)
        if not isinstance(data, dict):
            raise TypeError("a job is a JSON object")
        format_version(data, JOB_FORMAT, what="send job")
        # {"message_id": ...}: a job published before jobs named several messages.
        ids = data["message_ids"] if "message_ids" in data else [data["message_id"]]
        if not isinstance(ids, list):
            raise TypeError("message_ids must be a list")
        claim = data.get("claim")
        return cls(
            account_id=str(data["account_id"]),
            message_ids=tuple(str(i) for i in ids),
            claim=claim if isinstance(claim, str) and claim else None,
        )
