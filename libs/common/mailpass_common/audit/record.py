"""Writing audit entries: :func:`record`, called by the operations that change an account.

An entry::

    {_id: ObjectId, seq: str(_id), account_id, action: "<resource>.<verb>",
     actor_type: "key" | "user" | "admin" | "system", actor_id,
     resource_type, resource_id, before | None, after | None,
     ip | None, user_agent | None, created_at}

``seq`` is the ``_id`` as hex text: ObjectIds grow with time, so the indexes on
``(account_id, …, seq)`` give newest-first pages and time ranges as ``seq`` ranges
(:mod:`.query`). Who and from where: the caller names the actor, or the request's
:class:`Origin` (set by the web services for each request, filled in by their
authentication) does; without either the change is the platform's own (``system``).

Each entry is also reported to the account's webhook endpoints that ask for
``audit.event`` (one read of its endpoints; changes are rare, never the hot path).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from bson import ObjectId

from mailpass_common.audit.redaction import redact
from mailpass_common.platform.dates import api_datetime
from mailpass_common.platform.db import Collections, Database, Document
from mailpass_common.webhooks import outbox

COLLECTION = Collections.AUDIT_EVENTS
AUDIT_EVENT_TYPE = "audit.event"
# User agents are the client's text: kept short.
MAX_USER_AGENT = 300


class ActorType(StrEnum):
    KEY = "key"  # an API key (its public id), through the API or a console session
    USER = "user"  # a console user
    ADMIN = "admin"  # the platform team: the admin API or the CLI
    SYSTEM = "system"  # MailPass itself


@dataclass(frozen=True)
class Actor:
    type: ActorType
    id: str


SYSTEM = Actor(ActorType.SYSTEM, "mailpass")
CLI_ACTOR = Actor(ActorType.ADMIN, "cli")  # the ``mailpass`` command


@dataclass
class Origin:
    """Where the current request comes from; its authentication names the actor."""

    ip: str | None = None
    user_agent: str | None = None
    actor: Actor | None = None


_origin: ContextVar[Origin | None] = ContextVar("mailpass_audit_origin", default=None)


@contextmanager
def request_origin(ip: str | None, user_agent: str | None) -> Iterator[Origin]:
    """The origin of the changes made within (a web request); the actor is set later."""
    origin = Origin(ip, (user_agent or "")[:MAX_USER_AGENT] or None)
    token = _origin.set(origin)
    try:
        yield origin
    finally:
        _origin.reset(token)


def current_origin() -> Origin | None:
    return _origin.get()


def act_as(actor: Actor) -> None:
    """Name the actor of the current request (its authentication calls this)."""
    origin = _origin.get()
    if origin is not None:
        origin.actor = actor


def _now() -> datetime:
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)  # what BSON keeps


async def record(
    db: Database,
    *,
    account_id: str,
    action: str,
    resource_type: str,
    resource_id: str,
    before: Any = None,
    after: Any = None,
    actor: Actor | None = None,
    origin: Origin | None = None,
) -> Document:
    """Append one entry (secrets redacted from ``before`` and ``after``) and report it."""
    origin = origin or current_origin() or Origin()
    who = actor or origin.actor or SYSTEM
    oid = ObjectId()
    doc: Document = {
        "_id": oid,
        "seq": str(oid),
        "account_id": account_id,
        "action": action,
        "actor_type": str(who.type),
        "actor_id": who.id,
        "resource_type": resource_type,
        "resource_id": str(resource_id),
        "before": _plain(redact(before)),
        "after": _plain(redact(after)),
        "ip": origin.ip,
        "user_agent": origin.user_agent,
        "created_at": _now(),
    }
    await db[COLLECTION].insert_one(doc)
    await outbox.emit(db, account_id, AUDIT_EVENT_TYPE, event_view(doc), key=f"audit:{oid}")
    return doc


def _plain(value: Any) -> Any:
    """A stored state as JSON can carry it (dates as RFC 3339)."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, datetime):
        return api_datetime(value)
    if isinstance(value, ObjectId):
        return str(value)
    return value


def event_view(doc: Document) -> dict[str, Any]:
    """An entry as the API, the console and the ``audit.event`` webhook show it."""
    created = doc.get("created_at")
    return {
        "id": str(doc["_id"]),
        "action": doc["action"],
        "actor": {"type": doc.get("actor_type"), "id": doc.get("actor_id")},
        "resource": {"type": doc.get("resource_type"), "id": doc.get("resource_id")},
        "before": _plain(doc.get("before")),
        "after": _plain(doc.get("after")),
        "source": {"ip": doc.get("ip"), "user_agent": doc.get("user_agent")},
        "created_at": api_datetime(created) if isinstance(created, datetime) else None,
    }
