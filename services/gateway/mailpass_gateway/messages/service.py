"""The message history's work, shared by the API and the console: what a caller may see,
the filtered list, resending a failed message, and cancelling a scheduled one.

**Resending makes a new message** linked to the failed one (``resent_from`` on the new,
``resent_as`` on the old), as Postmark and Resend do, rather than moving the failed
message back to ``queued`` (what an operator's dead-letter replay does with
``failed.requeue_failed``):

- status only moves forward: the failed message keeps its outcome and its timeline,
  which is what someone reading it later needs to see;
- the new message has its own Message-ID, attempts, events and limit reservation; a
  receiving server that saw the first Message-ID (a 5xx after DATA) may drop a copy
  that reuses it;
- it goes through the current default provider, with its current settings: the fix a
  user made after the failure (a new password, another provider) is what a resend is for.

A failed message is resent once (a second click finds it resent); a resend that fails
in turn can be resent itself. The new message is published like ``/send``'s, without
waiting for the sender: if the publish fails it stays ``queued`` for the scheduler.
"""

from __future__ import annotations

import logging
import urllib.parse
from dataclasses import dataclass
from typing import Any

from mailpass_common.acceptance.service import Caller
from mailpass_common.messages import failed, scheduled
from mailpass_common.messages import service as messages
from mailpass_common.messages.ids import new_message_id, normalize_message_id
from mailpass_common.messages.models import MessageDocument, MessageStatus, new_message
from mailpass_common.messages.search import Cursor, MessageFilter, MessagePage, list_messages
from mailpass_common.platform.broker import JobPublisher
from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.platform.jobs import MessageKind, SendJob
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.providers import limits
from mailpass_common.providers.service import ProviderCache
from mailpass_gateway.errors import ApiError, validation_error
from mailpass_gateway.mail import suppressed
from mailpass_gateway.mail.service import default_provider, reserve_send
from mailpass_gateway.messages.models import MessageQuery

log = logging.getLogger(__name__)

MAX_MESSAGE_ID_CHARS = 512


def not_found(message_id: str) -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, "Message not found", {"message_id": message_id})


async def visible_message(db: Database, caller: Caller, raw_id: str) -> MessageDocument:
    """The caller's message by id (with or without ``<>``, URL-encoded or not).

    Another account's message, and a live message asked for by a test key, are as
    absent as one that never existed.
    """
    message_id = normalize_message_id(urllib.parse.unquote(raw_id))
    doc = None
    if len(message_id) <= MAX_MESSAGE_ID_CHARS:
        doc = await messages.find_message(db, caller.account_id, message_id)
    if doc is None or (caller.test and not doc.get("sandbox")):
        raise not_found(message_id)
    return doc


async def cancel_scheduled(db: Database, caller: Caller, message_id: str) -> MessageDocument:
    """Cancel the caller's message while it is ``scheduled`` (it becomes ``cancelled``, final,
    and is never sent); NOT_FOUND when the caller has no such message, NOT_CANCELLABLE
    with its status once the scheduler released it or it was cancelled already."""
    doc = await scheduled.cancel(db, caller.account_id, message_id, sandbox=caller.test)
    if doc is not None:
        return doc
    if not await messages.message_exists(db, caller.account_id, message_id, sandbox=caller.test):
        raise not_found(message_id)
    current = await messages.find_message(db, caller.account_id, message_id)
    status = current["status"] if current is not None else None
    raise ApiError(
        ErrorCode.NOT_CANCELLABLE,
        f"Only scheduled messages can be cancelled; this one is {status}",
        {"message_id": message_id, "status": status},
    )


def message_filter(caller: Caller, query: MessageQuery) -> MessageFilter:
    sandbox = caller.test if query.sandbox is None else query.sandbox
    if caller.test and not sandbox:
        raise ApiError(ErrorCode.FORBIDDEN, "A test API key sees only test messages")
    return MessageFilter(
        sandbox=sandbox,
        status=query.status,
        tag=query.tag,
        to=query.to,
        created_after=query.created_after,
        created_before=query.created_before,
    )


async def message_page(db: Database, caller: Caller, query: MessageQuery) -> MessagePage:
    filters = message_filter(caller, query)
    cursor = None
    if query.cursor:
        try:
            cursor = Cursor.decode(query.cursor)
        except ValueError as exc:
            raise validation_error([{"field": "cursor", "message": str(exc)}]) from exc
    return await list_messages(db, caller.account_id, filters, limit=query.limit, cursor=cursor)


async def resend(
    db: Database,
    caller: Caller,
    raw_id: str,
    *,
    providers: ProviderCache,
    publisher: JobPublisher,
    domain: str,
) -> tuple[MessageDocument, list[dict[str, Any]]]:
    """Resend a failed message as a new one (module docstring); returns the new message
    and the cc/bcc addresses dropped from it as suppressed."""
    old = await visible_message(db, caller, raw_id)
    if old["status"] != MessageStatus.FAILED.value:
        raise ApiError(
            ErrorCode.NOT_RESENDABLE,
            f"Only failed messages can be resent; this one is {old['status']}",
            {"message_id": old["_id"], "status": old["status"]},
        )
    if old.get("resent_as"):
        raise _resent_already(old["_id"], str(old.get("resent_as")))
    provider = await default_provider(providers, caller.account_id)
    # Screened like /send: a suppressed ``to`` is refused, suppressed cc/bcc are dropped.
    copies = {"cc": list(old.get("cc") or []), "bcc": list(old.get("bcc") or [])}
    found = await suppressed.lookup(
        db, caller.account_id, [old["to"], *copies["cc"], *copies["bcc"]]
    )
    copies, dropped = suppressed.screen_addresses(old["to"], copies, found)
    doc = new_message(
        message_id=new_message_id(domain),
        account_id=old["account_id"],
        kind=MessageKind.IMMEDIATE,
        sandbox=bool(old.get("sandbox")),
        provider_id=provider["_id"],
        from_email=old["from_email"],
        from_name=old.get("from_name"),
        to=old["to"],
        cc=copies["cc"],
        bcc=copies["bcc"],
        reply_to=old.get("reply_to"),
        subject=old["subject"],
        html=old.get("html"),
        text=old.get("text"),
        tags=old.get("tags"),
        metadata=old.get("metadata"),
        track_opens=old.get("track_opens"),
        track_clicks=old.get("track_clicks"),
    )
    doc["resent_from"] = old["_id"]
    # As the first message was asked for; one submitted over SMTP goes out as the same
    # stored message again (its Message-ID header too: the first was never delivered).
    for kept in ("unsubscribe", "template", "source", "raw_mime_bytes", "raw_mime"):
        if old.get(kept) is not None:
            doc[kept] = old[kept]
    if old.get("attachments") or old.get("raw_mime_bytes") is not None:
        # the same stored bytes, under the first message's id
        if old.get("attachments"):
            doc["attachments"] = old["attachments"]
        doc["body_chunks"] = old.get("body_chunks", 0)
        doc["body_id"] = old.get("body_id") or old["_id"]
    reserved = await reserve_send(db, _SandboxAware(caller.account_id, doc["sandbox"]), provider)
    try:
        if not await failed.mark_resent(db, caller.account_id, old["_id"], doc["_id"]):
            current = await messages.find_message(db, caller.account_id, old["_id"])
            winner = current.get("resent_as") if current is not None else None
            raise _resent_already(old["_id"], str(winner or "another message"))
        try:
            await messages.insert_messages(db, [doc])
        except BaseException:
            await failed.unmark_resent(db, old["_id"], doc["_id"])
            raise
    except BaseException:
        if reserved:  # nothing will be sent with it
            await limits.give_back(db, provider)
        raise
    try:
        await publisher.publish(SendJob(doc["account_id"], (doc["_id"],)), MessageKind.IMMEDIATE)
    except Exception:
        # The document is the outbox: the scheduler's recovery publishes it later.
        log.exception(
            "publish failed; message stays queued", extra=log_fields(message_id=doc["_id"])
        )
    return doc, dropped


@dataclass(frozen=True)
class _SandboxAware:
    """The mode of the message being resent: a test message never uses up live limits."""

    account_id: str
    test: bool


def _resent_already(message_id: str, resent_as: str) -> ApiError:
    return ApiError(
        ErrorCode.NOT_RESENDABLE,
        f"This message was resent already, as {resent_as}",
        {"message_id": message_id, "status": MessageStatus.FAILED.value, "resent_as": resent_as},
    )
