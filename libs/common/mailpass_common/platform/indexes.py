"""The indexes every service relies on, by collection; :func:`mailpass_common.platform.db.
ensure_indexes` creates them (and retires the ones listed as no longer used)."""

from __future__ import annotations

from pymongo import ASCENDING, IndexModel

from mailpass_common.platform.collection_names import Collections

INDEXES: dict[str, list[IndexModel]] = {
    Collections.API_KEYS: [IndexModel([("account_id", ASCENDING)])],
    Collections.ACCOUNTS: [IndexModel([("name", ASCENDING)], unique=True)],
    Collections.PROVIDERS: [
        IndexModel([("account_id", ASCENDING), ("name", ASCENDING)], unique=True)
    ],
    # Every index here costs each insert a key, and each write that changes a field of
    # its key a key deleted and one inserted; each serves a query of
    # tests/delivery/test_query_plans.py (which names the index each query takes).
    # The four indexes of a state are partial: they hold a message only while it is in
    # that state (``status`` in the key as well, for nx-27017's planner, which ignores
    # the filter). An ordinary message enters and leaves ``queued`` and ``sending`` once
    # each and never touches the two others: 8 keys from its insert to ``sent`` where a
    # full index of each state took 19 (10 and 21 when the scheduler publishes it). A
    # query takes one of them only when its filter names the index's status by equality
    # (MongoDB's rule: the query must imply the filter), as every one here does. Two
    # indexes on one key with different partial filters, and a partial one beside a full
    # one on its key while ensure_indexes retires the full one, take MongoDB 5.0 or later.
    Collections.MESSAGES: [
        # The scheduler: due batch messages (published_at null) per provider in queue
        # order, and queued messages whose job was published long ago (recovery).
        IndexModel(
            [
                ("status", ASCENDING),
                ("published_at", ASCENDING),
                ("provider_id", ASCENDING),
                ("queue_id", ASCENDING),
            ],
            name="queued_by_published_at",
            partialFilterExpression={"status": "queued"},
        ),
        # Recovery: leases that ran out, and deferrals whose retry never came back.
        IndexModel(
            [("status", ASCENDING), ("claimed_at", ASCENDING)],
            name="sending_by_claimed_at",
            partialFilterExpression={"status": "sending"},
        ),
        IndexModel(
            [("status", ASCENDING), ("claimed_at", ASCENDING)],
            name="deferred_by_claimed_at",
            partialFilterExpression={"status": "deferred"},
        ),
        # The scheduler: scheduled messages that are due (mailpass_common.messages.scheduled).
        IndexModel(
            [("status", ASCENDING), ("scheduled_at", ASCENDING)],
            name="scheduled_by_scheduled_at",
            partialFilterExpression={"status": "scheduled"},
        ),
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
        # Not partial: its query asks for ``body_purged_at: null``, and a filter on null
        # (``$exists: false`` is not a filter MongoDB takes) spares no key of a message
        # before its purge, which is past every figure of the bench.
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


# Full (not partial) indexes no query uses any more, by key: ensure_indexes drops them
# where they exist, once the indexes above are in place (never one of those: see
# ``mailpass_common.platform.db.ensure_indexes``). (account_id, created_at): every
# listing and stats query also names ``sandbox``, and is served by (account_id, sandbox,
# created_at). The full indexes of the states: replaced by the partial ones above.
RETIRED_INDEXES: dict[str, list[list[tuple[str, int]]]] = {
    Collections.MESSAGES: [
        [("account_id", 1), ("created_at", 1)],
        [("status", 1), ("published_at", 1), ("provider_id", 1), ("queue_id", 1)],
        [("status", 1), ("claimed_at", 1)],
        [("status", 1), ("scheduled_at", 1)],
    ],
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
