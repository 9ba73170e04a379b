"""MongoDB access through PyMongo's async API, and the indexes every service relies on.

Query shapes. Every query on the hot path is served by an index on both MongoDB and the
nx-27017 wire server used in development and tests, so its cost does not grow with the
number of stored messages (``tests/delivery/test_query_plans.py`` checks the plans, and
``tests/delivery/test_scale.py`` the cost at two data sizes). On nx-27017 that takes:

- equality written ``{"field": {"$eq": value}}`` (:func:`where`) beside ``_id``: for the
  implicit ``{"field": value}`` it adds an array-containment subquery that keeps SQLite
  from using the index; MongoDB treats both forms the same;
- no ``$or``, and no ``$in`` on fields other than ``_id``: either makes it evaluate the
  filter in Python over every document. Such a query is split into one per branch;
- no ``count_documents``, which it runs as a scanning aggregation.
"""

from __future__ import annotations

from typing import Any

from pymongo import ASCENDING, AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase

from mailpass_common.platform.metrics import CommandCounter
from mailpass_common.platform.settings import CommonSettings

Document = dict[str, Any]
Database = AsyncDatabase[Document]


# The server error code of an insert whose _id (or unique key) is taken.
class Collections:
    ACCOUNTS = "accounts"
    API_KEYS = "api_keys"
    PROVIDERS = "providers"
    MESSAGES = "messages"
    EVENTS = "events"
    COUNTERS = "counters"
    CONSOLE_SESSIONS = "console_sessions"
    CONSOLE_LINKS = "console_links"
    CONSOLE_SIGNINS = "console_signins"
    CIRCUITS = "circuits"
    SUPPRESSIONS = "suppressions"
    MESSAGE_BODIES = "message_bodies"
    EVENT_HOOKS = "event_hooks"
    EVENT_HOOK_TOKENS = "event_hook_tokens"
    WEBHOOK_ENDPOINTS = "webhook_endpoints"
    WEBHOOK_EVENTS = "webhook_events"
    WEBHOOK_ATTEMPTS = "webhook_attempts"
    TEMPLATES = "templates"
    DOMAINS = "domains"
    DKIM_KEYS = "dkim_keys"
    AUDIT_EVENTS = "audit_events"
    USERS = "users"
    MEMBERS = "members"
    INVITATIONS = "invitations"
    CONSOLE_OIDC_FLOWS = "console_oidc_flows"


DUPLICATE_KEY = 11000


def connect(settings: CommonSettings) -> tuple[AsyncMongoClient[Document], Database]:
    client: AsyncMongoClient[Document] = AsyncMongoClient(
        settings.mongodb_url,
        tz_aware=True,
        serverSelectionTimeoutMS=5000,
        appname="mailpass",
        event_listeners=[CommandCounter()],
    )
    return client, client[settings.mongodb_database]


async def ping(db: Database) -> None:
    await db.command("ping")


def where(**fields: Any) -> dict[str, Any]:
    """A filter with ``$eq`` for every plain value (see the module's query shapes).

    ``_id`` and values that already are operator documents are kept as they are.
    """
    return {
        name: value if name == "_id" or isinstance(value, dict) else {"$eq": value}
        for name, value in fields.items()
    }


def now_stamp(*fields: str) -> dict[str, dict[str, bool]]:
    """``$currentDate`` for the given fields: how updates write timestamps (see documents)."""
    return {"$currentDate": {field: True for field in fields}}


INDEXES: dict[str, list[IndexModel]] = {
    Collections.API_KEYS: [IndexModel([("account_id", ASCENDING)])],
    Collections.ACCOUNTS: [IndexModel([("name", ASCENDING)], unique=True)],
    Collections.PROVIDERS: [
        IndexModel([("account_id", ASCENDING), ("name", ASCENDING)], unique=True)
    ],
    # Every index here costs each insert an entry, and each status change one for every
    # index that holds ``status``; each serves a query of tests/delivery/test_query_plans.py.
    Collections.MESSAGES: [
        # The scheduler: due batch messages (published_at null) per provider in queue
        # order, and queued messages whose job was published long ago (recovery).
        IndexModel(
            [
                ("status", ASCENDING),
                ("published_at", ASCENDING),
                ("provider_id", ASCENDING),
                ("queue_id", ASCENDING),
            ]
        ),
        # Recovery: leases that ran out, and deferrals whose retry never came back. (Each
        # index costs every status change a write: on nx-27017 one update of a message
        # with these three indexes costs about twice one without any.)
        IndexModel([("status", ASCENDING), ("claimed_at", ASCENDING)]),
        # The scheduler: scheduled messages that are due (mailpass_common.messages.scheduled).
        IndexModel([("status", ASCENDING), ("scheduled_at", ASCENDING)]),
        # The console and GET /mail/messages: live or test messages newest first, and the
        # same for one recipient (mailpass_common.messages.search); stats count messages
        # per time bucket on the first (mailpass_common.messages.stats). Their fields never change
        # after the insert, so on MongoDB no status change writes to them.
        IndexModel([("account_id", ASCENDING), ("sandbox", ASCENDING), ("created_at", ASCENDING)]),
        IndexModel(
            [
                ("account_id", ASCENDING),
                ("sandbox", ASCENDING),
                ("to", ASCENDING),
                ("created_at", ASCENDING),
            ]
        ),
        # The retention sweep: bodies not yet purged, oldest first (mailpass_common.
        # retention). Written at the insert and at the purge only, never on status changes.
        IndexModel([("body_purged_at", ASCENDING), ("created_at", ASCENDING)]),
    ],
    Collections.EVENTS: [
        IndexModel([("message_id", ASCENDING), ("created_at", ASCENDING)]),
        # Stats: an account's live or test events per time bucket.
        IndexModel([("account_id", ASCENDING), ("sandbox", ASCENDING), ("created_at", ASCENDING)]),
    ],
    # The console's sessions, one-time links and sign-in windows end by themselves: a TTL
    # index removes each document once its expires_at has passed.
    Collections.CONSOLE_SESSIONS: [
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
        IndexModel([("account_id", ASCENDING)]),
        # A user's sessions, ended together when the user is disabled or removed.
        IndexModel(
            [("user_id", ASCENDING)], partialFilterExpression={"user_id": {"$exists": True}}
        ),
    ],
    Collections.CONSOLE_LINKS: [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)],
    Collections.CONSOLE_SIGNINS: [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)],
    Collections.CONSOLE_OIDC_FLOWS: [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)],
    Collections.CIRCUITS: [
        IndexModel([("account_id", ASCENDING)]),
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
    ],
    # The gateway's check and the removal go by ``_id`` ("<account_id>/<address>"); the
    # list is a range of addresses within the account (mailpass_common.suppressions.service).
    # A provider's hook (its admin routes); notifications find theirs by _id.
    Collections.EVENT_HOOKS: [IndexModel([("account_id", ASCENDING), ("provider_id", ASCENDING)])],
    # Mailgun signing tokens already used, found by _id, gone after the window.
    Collections.EVENT_HOOK_TOKENS: [IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0)],
    Collections.SUPPRESSIONS: [IndexModel([("account_id", ASCENDING), ("address", ASCENDING)])],
    # Webhooks (mailpass_common.webhooks): an account's endpoints; the relay's pending
    # events, oldest claim first; an endpoint's attempts, newest first.
    Collections.WEBHOOK_ENDPOINTS: [
        IndexModel([("account_id", ASCENDING)]),
        # The per-account cap: one endpoint per slot (mailpass_common.webhooks.endpoints).
        IndexModel(
            [("account_id", ASCENDING), ("slot", ASCENDING)],
            unique=True,
            partialFilterExpression={"slot": {"$exists": True}},
        ),
    ],
    Collections.WEBHOOK_EVENTS: [IndexModel([("state", ASCENDING), ("lease_until", ASCENDING)])],
    Collections.WEBHOOK_ATTEMPTS: [IndexModel([("endpoint_id", ASCENDING), ("seq", ASCENDING)])],
    # Templates (mailpass_common.templates.store): an account's, oldest first, and by
    # alias (its handle: the alias, else the id), unique within the account.
    Collections.TEMPLATES: [
        IndexModel([("account_id", ASCENDING), ("position", ASCENDING)]),
        IndexModel([("account_id", ASCENDING), ("handle", ASCENDING)], unique=True),
    ],
    # Sending domains (mailpass_common.mta): one a name per account (the MTA's check, the
    # listing); a domain's DKIM keys (signing, verifying, removing).
    Collections.DOMAINS: [
        IndexModel([("account_id", ASCENDING), ("domain", ASCENDING)], unique=True)
    ],
    Collections.DKIM_KEYS: [IndexModel([("account_id", ASCENDING), ("domain", ASCENDING)])],
    # The audit log (mailpass_common.audit.query): an account's entries newest first, all,
    # by actor, or by resource; ``seq`` orders them and bounds time ranges. Entries end
    # by the TTL index on created_at (AUDIT_RETENTION_DAYS), never through an API.
    Collections.AUDIT_EVENTS: [
        IndexModel([("account_id", ASCENDING), ("seq", ASCENDING)]),
        IndexModel([("account_id", ASCENDING), ("actor_id", ASCENDING), ("seq", ASCENDING)]),
        IndexModel(
            [
                ("account_id", ASCENDING),
                ("resource_type", ASCENDING),
                ("resource_id", ASCENDING),
                ("seq", ASCENDING),
            ]
        ),
    ],
    # Console users (mailpass_common.tenants.users): one per address; one per identity
    # provider subject. Memberships are found by _id ("<account>/<user>"), an account's
    # by account_id, a user's accounts by user_id. Invitations go by _id (the token's
    # hash); an account's pending ones by account_id; they end by themselves (TTL).
    Collections.USERS: [
        IndexModel([("email", ASCENDING)], unique=True),
        IndexModel(
            [("oidc_subject", ASCENDING)],
            unique=True,
            partialFilterExpression={"oidc_subject": {"$exists": True}},
        ),
    ],
    Collections.MEMBERS: [
        IndexModel([("account_id", ASCENDING), ("role", ASCENDING)]),
        IndexModel([("user_id", ASCENDING)]),
    ],
    Collections.INVITATIONS: [
        IndexModel([("account_id", ASCENDING)]),
        IndexModel([("expires_at", ASCENDING)], expireAfterSeconds=0),
    ],
}


# Indexes no query uses any more, by key: ensure_indexes drops them where they exist.
# (account_id, created_at): every listing and stats query also names ``sandbox``, and is
# served by (account_id, sandbox, created_at).
RETIRED_INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    Collections.MESSAGES: [[("account_id", 1), ("created_at", 1)]],
}


# Deleted whole once they are older than MESSAGE_METADATA_RETENTION_DAYS (TTL indexes).
TTL_COLLECTIONS = (
    Collections.MESSAGES,
    Collections.EVENTS,
    Collections.MESSAGE_BODIES,
    Collections.WEBHOOK_EVENTS,
    Collections.WEBHOOK_ATTEMPTS,
)
TTL_FIELD = "created_at"


async def ensure_indexes(db: Database, settings: CommonSettings | None = None) -> None:
    """Create the indexes; with ``settings``, also put the TTL indexes in line with its
    retention (created, changed or dropped). Without, TTL indexes are left as they are."""
    for name, keys in RETIRED_INDEXES.items():
        await _drop_retired(db, name, keys)
    for name, models in INDEXES.items():
        await db[name].create_indexes(models)
    if settings is not None:
        seconds = round(settings.message_metadata_retention_days * 86400)
        for name in TTL_COLLECTIONS:
            await _ensure_ttl_index(db, name, seconds)
        audit_seconds = round(settings.audit_retention_days * 86400)
        await _ensure_ttl_index(db, Collections.AUDIT_EVENTS, audit_seconds)


async def _drop_retired(db: Database, name: str, keys: list[list[tuple[str, int]]]) -> None:
    """Drop the indexes of ``name`` whose key is one of ``keys`` (found by key: the two
    databases name an index differently)."""
    collection = db[name]
    for index_name, info in (await collection.index_information()).items():
        if [(field, int(order)) for field, order in info["key"]] in keys:
            await collection.drop_index(index_name)


async def _ensure_ttl_index(db: Database, name: str, seconds: int) -> None:
    """A TTL index on ``created_at`` expiring after ``seconds`` (none when 0).

    Changing the period of an existing one is a ``collMod`` on MongoDB (rebuilding the
    index of a large collection would leave it without expiry meanwhile); nx-27017
    accepts ``collMod`` without applying it, and updates the index when it is created
    again, which is done when the first did not take.
    """
    collection = db[name]

    async def existing() -> tuple[str, int | None] | None:
        for index_name, info in (await collection.index_information()).items():
            if [(field, int(order)) for field, order in info["key"]] == [(TTL_FIELD, 1)]:
                expire = info.get("expireAfterSeconds")
                return index_name, None if expire is None else int(expire)
        return None

    found = await existing()
    if not seconds:
        if found is not None:
            await collection.drop_index(found[0])
        return
    model = IndexModel([(TTL_FIELD, ASCENDING)], name="retention", expireAfterSeconds=seconds)
    if found is None:
        await collection.create_indexes([model])
        return
    if found[1] == seconds:
        return
    await db.command("collMod", name, index={"name": found[0], "expireAfterSeconds": seconds})
    after = await existing()
    if after is None or after[1] != seconds:
        await collection.create_indexes([model])
