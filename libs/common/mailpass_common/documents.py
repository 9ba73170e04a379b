"""The MongoDB documents every service reads and writes, and the status machine.

Collections:
- ``accounts``  {_id, name, created_at, settings{...}}
- ``api_keys``  {_id: sha256(key), prefix, account_id, permissions[], test, revoked,
                 created_at, last_used_at}
- ``providers`` {_id, account_id, name, type, is_default, config{...}, secret (encrypted),
                 from_email, from_name, hourly_limit, daily_limit, created_at}
- ``messages``  the outbox and source of truth, one document a message, ``_id`` = message id
- ``events``    one document an event (lifecycle and tracking), never embedded in the message
- ``counters``  sequences (batch ``queue_id``) and send-limit windows

Timestamps written by updates use ``$currentDate`` (the database's clock): a ``$set`` of a
datetime is stored as a string by the nx-27017 wire server used in development, while
``$currentDate`` and inserts keep real dates on both it and MongoDB.
"""

from __future__ import annotations

from enum import StrEnum


class Collections:
    ACCOUNTS = "accounts"
    API_KEYS = "api_keys"
    PROVIDERS = "providers"
    MESSAGES = "messages"
    EVENTS = "events"
    COUNTERS = "counters"


class MessageStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    DEFERRED = "deferred"
    SENT = "sent"
    FAILED = "failed"


# Statuses a sender may claim a message from. A message in ``sending`` is claimable again
# only once its lease has expired (its sender died); ``sent`` and ``failed`` are final.
CLAIMABLE = (MessageStatus.QUEUED, MessageStatus.DEFERRED)
FINAL = (MessageStatus.SENT, MessageStatus.FAILED)


class MessageKind(StrEnum):
    IMMEDIATE = "immediate"  # POST /mail/send: published at once, the gateway awaits the result
    BATCH = "batch"  # POST /mail/send-batch: published by the scheduler within send limits


class EventType(StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DEFERRED = "deferred"
    FAILED = "failed"
    OPEN = "open"
    CLICK = "click"
