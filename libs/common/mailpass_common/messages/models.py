"""The MongoDB documents every service reads and writes, and the status machine.

Collections:
- ``accounts``  {_id, name, created_at, settings{...}}
- ``api_keys``  {_id: sha256(key), id, prefix, account_id, permissions[], test, revoked,
                 created_at, last_used_at}
- ``providers`` {_id, account_id, name, type, is_default, config{...}, secret (encrypted),
                 from_email, from_name, hourly_limit, daily_limit, created_at}
- ``messages``  the outbox and source of truth, one :class:`MessageDocument` a message
- ``events``    what happens to a message more than once (deferrals, opens, clicks), one
                document each, never embedded in the message
- ``counters``  sequences (batch ``queue_id``) and send-limit windows
- ``console_sessions``, ``console_links``, ``console_signins``  the web console's
                 sessions, one-time sign-in links and sign-in attempt windows
                 (:mod:`mailpass_common.tenants.console_auth`)
- ``circuits``  circuit breakers the senders report open (:mod:`mailpass_common.providers.circuits`)
- ``message_bodies``  attachment bytes in chunks (:mod:`mailpass_common.messages.attachment_store`)
- ``event_hooks``  where providers report bounces (:mod:`mailpass_common.providers.event_hooks`)
- ``suppressions``  addresses each account no longer sends to
                 (:mod:`mailpass_common.suppressions.service`)
- ``webhook_endpoints``, ``webhook_events``, ``webhook_attempts``  webhooks: endpoints,
                 the outbox of events to deliver, attempts (:mod:`mailpass_common.webhooks`)
- ``domains``, ``dkim_keys``  sending domains and their DKIM keys
                 (:mod:`mailpass_common.mta.domains`, :mod:`mailpass_common.mta.dkim`)

Timestamps written by updates use ``$currentDate`` (the database's clock): a ``$set`` of a
datetime is stored as a string by the nx-27017 wire server used in development, while
``$currentDate`` and inserts keep real dates on both it and MongoDB.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, NotRequired, TypedDict

from mailpass_common.platform.jobs import MessageKind

# The format :func:`new_message` writes (``v``, :mod:`mailpass_common.platform.formats`);
# the sender delivers this one and the one before, and defers a newer one with the reason.
MESSAGE_FORMAT = 1


class MessageStatus(StrEnum):
    # Waiting for its scheduled_at; the scheduler moves it to queued when it is due, or the
    # account cancels it (final).
    SCHEDULED = "scheduled"
    CANCELLED = "cancelled"
    QUEUED = "queued"
    SENDING = "sending"
    DEFERRED = "deferred"
    SENT = "sent"
    FAILED = "failed"
    # Sent, then reported undeliverable by the recipient's side: a delivery status
    # notification that came back later (mailpass-inbound). Final.
    BOUNCED = "bounced"


# Statuses a sender may claim a message from. A message in ``sending`` is claimable again
# only once its lease has expired (its sender died); ``sent`` and ``failed`` are final.
CLAIMABLE = (MessageStatus.QUEUED, MessageStatus.DEFERRED)


class EventType(StrEnum):
    """Event types of the status endpoint. ``sent`` and ``failed`` are the message's final
    outcome, kept on the message document itself; the others are ``events`` documents."""

    QUEUED = "queued"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    CANCELLED = "cancelled"
    OPEN = "open"
    CLICK = "click"
    # Tracking was asked for, but the HTML could not be rewritten in budget: sent untracked.
    TRACKING_SKIPPED = "tracking_skipped"
    # Reports that came back after the message was sent (mailpass-inbound): a delivery
    # status notification of a failure (bounce) or a delay (delayed), an abuse report
    # (complaint). ``detail`` is the remote server's diagnostic, as given.
    BOUNCE = "bounce"
    DELAYED = "delayed"
    COMPLAINT = "complaint"


class MessageDocument(TypedDict):
    """One message in ``messages``: what was asked for, and where its delivery stands.

    The request fields never change after the insert; the delivery fields change only
    through the conditional updates of :mod:`mailpass_common.messages.service`.
    """

    _id: str  # the Message-ID header, angle brackets included
    v: NotRequired[int]  # its format, MESSAGE_FORMAT when written (absent: 1, written earlier)
    account_id: str
    kind: str  # MessageKind
    sandbox: bool  # sent with a test key: delivered to the sandbox capture only
    provider_id: str  # the account's default provider when the message was accepted
    from_email: str
    from_name: str | None
    to: str
    cc: list[str]
    bcc: list[str]
    reply_to: str | None
    subject: str
    html: str | None
    text: str | None
    tags: list[str]
    metadata: dict[str, Any]
    track_opens: bool | None  # None: the account's default
    track_clicks: bool | None
    created_at: datetime
    # Delivery
    status: str  # MessageStatus
    attempts: int
    # Seconds spent waiting on MailPass's own destination back-offs (not attempts);
    # absent until the first such wait.
    backoff_waited_seconds: NotRequired[float]
    error_message: str | None
    updated_at: datetime
    sent_at: datetime | None
    # When a job for it was last published; None while a batch message waits for the
    # scheduler. The outbox recovery republishes what stays unclaimed too long after it.
    published_at: datetime | None
    queue_id: NotRequired[int]  # batch messages: increasing per account
    # Scheduled send: when it is due (status scheduled until then), and when it was
    # cancelled instead.
    scheduled_at: NotRequired[datetime]
    cancelled_at: NotRequired[datetime]
    claimed_at: NotRequired[datetime]
    claim_token: NotRequired[str]  # names the sender's current claim; outcomes must match it
    publish_run: NotRequired[str | None]  # the scheduler run that took it for publishing
    # Outcome details, written with the final status
    delivered_by: NotRequired[str]  # the provider that accepted it (the default or a fallback)
    provider_type: NotRequired[str]
    provider_message_id: NotRequired[str | None]
    provider_reply: NotRequired[str]
    fallback: NotRequired[bool]
    failed_at: NotRequired[datetime]
    dead_lettered: NotRequired[bool]
    # Resending a failed message makes a new message; each names the other.
    resent_from: NotRequired[str]
    resent_as: NotRequired[str]
    # Attachments: descriptions here ({filename, content_type, content_id, size}), bytes
    # in message_bodies (body_chunks chunks); absent on messages without any.
    attachments: NotRequired[list[dict[str, Any]]]
    body_chunks: NotRequired[int]
    body_id: NotRequired[str]  # whose chunks they are, when not its own (a resend's)
    # Submitted over SMTP (source "smtp"): the chunks hold the whole message as it is
    # delivered, this many bytes; the sender sends them as they are.
    source: NotRequired[str]
    raw_mime_bytes: NotRequired[int]
    raw_mime: NotRequired[bytes]  # those bytes, when small enough to live in the document
    # When html and text were removed (MESSAGE_RETENTION_DAYS after created_at); None
    # while the message still has its body.
    body_purged_at: NotRequired[datetime | None]
    # One-click unsubscribe headers (None or absent: the account's default), and the
    # template version that made the content ({"id", "version"}), when one did.
    unsubscribe: NotRequired[bool | None]
    template: NotRequired[dict[str, Any]]


def new_message(
    *,
    message_id: str,
    account_id: str,
    kind: MessageKind,
    sandbox: bool,
    provider_id: str,
    from_email: str,
    from_name: str | None,
    to: str,
    subject: str,
    html: str | None,
    text: str | None,
    cc: list[str] | None = None,
    bcc: list[str] | None = None,
    reply_to: str | None = None,
    tags: list[str] | None = None,
    metadata: dict[str, Any] | None = None,
    track_opens: bool | None = None,
    track_clicks: bool | None = None,
    queue_id: int | None = None,
    published: bool | None = None,
    scheduled_at: datetime | None = None,
) -> MessageDocument:
    """A new ``queued`` message. ``published``: its job is published right after the insert
    (so it carries its publish time), as for every immediate message and for batch
    messages with nothing to wait for; otherwise it waits for the scheduler. With
    ``scheduled_at`` it is ``scheduled`` instead, unpublished until the scheduler finds it
    due."""
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what BSON keeps
    doc: MessageDocument = {
        "_id": message_id,
        "v": MESSAGE_FORMAT,
        "account_id": account_id,
        "kind": kind.value,
        "sandbox": sandbox,
        "provider_id": provider_id,
        "from_email": from_email,
        "from_name": from_name,
        "to": to,
        "cc": list(cc or []),
        "bcc": list(bcc or []),
        "reply_to": reply_to,
        "subject": subject,
        "html": html,
        "text": text,
        "tags": list(tags or []),
        "metadata": dict(metadata or {}),
        "track_opens": track_opens,
        "track_clicks": track_clicks,
        "created_at": now,
        "status": MessageStatus.QUEUED.value,
        "attempts": 0,
        # No claim yet ("" is below every claim given at acceptance: messages.claims).
        "claim_token": "",
        "error_message": None,
        "updated_at": now,
        "sent_at": None,
        "published_at": now
        if (kind is MessageKind.IMMEDIATE if published is None else published)
        else None,
        "body_purged_at": None,
    }
    if queue_id is not None:
        doc["queue_id"] = queue_id
    if scheduled_at is not None:
        doc["status"] = MessageStatus.SCHEDULED.value
        doc["published_at"] = None
        due = scheduled_at.astimezone(UTC)
        doc["scheduled_at"] = due.replace(microsecond=due.microsecond // 1000 * 1000)
    return doc


def stored_datetime(value: Any) -> datetime | None:
    """A date read from a document, in UTC (naive ones are UTC already), or None.

    Dates are written with ``$currentDate`` or inside whole documents, but nx-27017 keeps
    one set with ``$set`` as ISO text: that is read back as the date it is.
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    return value.astimezone(UTC) if value.tzinfo is not None else value
