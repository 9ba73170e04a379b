"""The sender's reply to a ``/send`` job, on the gateway's RPC reply queue.

The gateway publishes a ``/send`` job with ``reply_to`` and waits; the sender answers
with the message's status after the attempt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mailpass_common.messages.models import MessageStatus


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
