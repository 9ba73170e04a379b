"""Attachments of a request: decoded, checked and made ready to store
(rules: :mod:`mailpass_common.messages.attachments`;
storage: :mod:`mailpass_common.messages.attachment_store`).

The request's base64 is decoded once; the bytes of every attachment of a message are
joined into one buffer that :func:`attach` cuts into chunks for ``message_bodies``. The
message document keeps only their descriptions and offsets.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mailpass_common.messages import attachment_store as bodies
from mailpass_common.messages import attachments
from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.errors import ErrorCode
from mailpass_gateway.errors import ApiError, validation_error
from mailpass_gateway.mail.models import SendRequest
from mailpass_gateway.settings import GatewaySettings


@dataclass(frozen=True)
class AttachmentPolicy:
    max_message_bytes: int
    allow_executables: bool

    @staticmethod
    def of(settings: GatewaySettings) -> AttachmentPolicy:
        return AttachmentPolicy(settings.max_message_bytes, settings.attachments_allow_executables)


@dataclass(frozen=True)
class PreparedFiles:
    descriptions: list[dict[str, Any]]
    data: bytes


def _refused(filename: str, reason: str, message: str) -> ApiError:
    return ApiError(
        ErrorCode.ATTACHMENT_REFUSED,
        f"Attachment {filename}: {message}",
        {"filename": filename, "reason": reason},
    )


def prepare(request: SendRequest, policy: AttachmentPolicy) -> PreparedFiles | None:
    """The request's attachments, decoded and checked; None when it has none. Raises
    ATTACHMENT_REFUSED (400) or MESSAGE_TOO_LARGE (413)."""
    if not request.attachments:
        return None
    descriptions: list[dict[str, Any]] = []
    chunks: list[bytes] = []
    offset = 0
    for index, given in enumerate(request.attachments):
        filename = attachments.sanitized_filename(given.filename)
        try:
            data = attachments.decoded(given.content)
        except ValueError as exc:
            field = f"attachments.{index}.content"
            raise validation_error([{"field": field, "message": str(exc)}]) from exc
        sign = attachments.executable_sign(filename, given.content_type, data)
        if sign is not None and not policy.allow_executables:
            raise _refused(filename, "executable", f"executable files are refused ({sign})")
        descriptions.append(
            {
                "filename": filename,
                "content_type": given.content_type,
                "content_id": given.content_id,
                "offset": offset,
                "size": len(data),
            }
        )
        chunks.append(data)
        offset += len(data)
    size = attachments.message_size(
        [request.html or "", request.text or ""], [d["size"] for d in descriptions]
    )
    if size > policy.max_message_bytes:
        raise ApiError(
            ErrorCode.MESSAGE_TOO_LARGE,
            f"The message would be {size} bytes once encoded; the limit is "
            f"{policy.max_message_bytes}",
            {"size_bytes": size, "max_bytes": policy.max_message_bytes},
        )
    return PreparedFiles(descriptions, b"".join(chunks))


def attach(doc: MessageDocument, files: PreparedFiles | None) -> list[dict[str, object]]:
    """Put the attachments' descriptions on the message; its chunk documents, to store
    before the message is inserted."""
    if files is None:
        return []
    chunk_docs = bodies.chunk_documents(doc["_id"], files.data)
    doc["attachments"] = files.descriptions
    doc["body_chunks"] = len(chunk_docs)
    return chunk_docs
