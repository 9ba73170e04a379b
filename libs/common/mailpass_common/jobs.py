"""What travels on the broker: a job names a message to deliver, a reply tells its fate.

Jobs carry ids, never content: the message document in MongoDB is the source of truth.
A reply goes back to the gateway that published a ``/send`` job with ``reply_to``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from mailpass_common.documents import MessageStatus


@dataclass(frozen=True)
class SendJob:
    message_id: str
    account_id: str

    def encode(self) -> bytes:
        return json.dumps({"message_id": self.message_id, "account_id": self.account_id}).encode()

    @classmethod
    def decode(cls, body: bytes) -> SendJob:
        data = json.loads(body)
        return cls(message_id=str(data["message_id"]), account_id=str(data["account_id"]))


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
