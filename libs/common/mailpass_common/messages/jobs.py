"""What travels on the broker: a job names messages to deliver, a reply tells one's fate.

Jobs carry ids, never content: the message document in MongoDB is the source of truth.
A reply goes back to the gateway that published a ``/send`` job with ``reply_to``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass

from mailpass_common.messages.models import MessageStatus

# Most messages one job names: a batch job is claimed, and its outcomes recorded, together.
MAX_JOB_MESSAGES = 100


@dataclass(frozen=True)
class SendJob:
    """Deliver these messages of one account (one for ``/send``, up to a hundred when the
    scheduler or the gateway publishes a batch, so the broker sees one job per chunk)."""

    account_id: str
    message_ids: tuple[str, ...]

    def __post_init__(self) -> None:
        if not 1 <= len(self.message_ids) <= MAX_JOB_MESSAGES:
            raise ValueError(f"a job names 1 to {MAX_JOB_MESSAGES} messages")

    @classmethod
    def of(cls, account_id: str, message_ids: Sequence[str]) -> list[SendJob]:
        """Jobs for ``message_ids``, as few as the size limit allows."""
        ids = list(message_ids)
        step = MAX_JOB_MESSAGES
        return [cls(account_id, tuple(ids[i : i + step])) for i in range(0, len(ids), step)]

    def encode(self) -> bytes:
        return json.dumps(
            {"account_id": self.account_id, "message_ids": list(self.message_ids)}
        ).encode()

    @classmethod
    def decode(cls, body: bytes) -> SendJob:
        data = json.loads(body)
        # {"message_id": ...}: a job published before jobs named several messages.
        ids = data["message_ids"] if "message_ids" in data else [data["message_id"]]
        if not isinstance(ids, list):
            raise TypeError("message_ids must be a list")
        return cls(account_id=str(data["account_id"]), message_ids=tuple(str(i) for i in ids))


@dataclass(frozen=True)
class SendReply:
    """The sender's answer to a ``/send`` job: the message's status after this attempt."""

    message_id: str
    status: MessageStatus
    error_message: str | None = None

    def encode(self) -> bytes:
        return json.dumps(
            {
                "message_id": self.message_id,
                "status": self.status.value,
                "error_message": self.error_message,
            }
        ).encode()

    @classmethod
    def decode(cls, body: bytes) -> SendReply:
        data = json.loads(body)
        error = data.get("error_message")
        return cls(
            message_id=str(data["message_id"]),
            status=MessageStatus(data["status"]),
            error_message=None if error is None else str(error),
        )
