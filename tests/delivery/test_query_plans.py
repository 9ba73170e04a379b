"""The query planner serves every hot-path query from an index, on either database.

``explain`` shows the plan without running the query: on MongoDB (``MONGODB_URL``) the
winning plan must use an IXSCAN and no COLLSCAN; on the nx-27017 wire server it is
SQLite's plan, which must search an index and never scan the collection's table. (A
filter nx-27017 cannot translate to SQL at all shows as a bare table scan, since it then
filters every row in Python.) The filters are the access modules' own.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailpass_common.messages import claims, events, scheduled, stats
from mailpass_common.messages import due as outbox
from mailpass_common.messages import search as message_search
from mailpass_common.messages.search import MessageFilter
from mailpass_common.mta import dkim, domains
from mailpass_common.platform.db import (
    INDEXES,
    Collections,
    Database,
    ensure_indexes,
    where,
)
from mailpass_common.platform.indexes import RETIRED_INDEXES
from mailpass_common.platform.jobs import MessageKind
from mailpass_common.suppressions import service as suppressions
from mailpass_common.templates import store as template_store
from mailpass_inbound import service as inbound_service

NOW = datetime.now(UTC)
MESSAGES_INDEXES = INDEXES[Collections.MESSAGES]

PLANS: dict[str, tuple[str, dict[str, Any], list[tuple[str, int]] | None]] = {
    "a template by alias (sending with one)": (
        Collections.TEMPLATES,
        template_store.reference_selector("acc_x", "order-confirmation"),
        None,
    ),
    "an account's templates, a page": (
        Collections.TEMPLATES,
        template_store.page_selector("acc_x", "65f0c0ffee0000000000000a"),
        template_store.IN_ORDER,
    ),
    "the MTA: an account's verified sending domain": (
        Collections.DOMAINS,
        domains.verified_selector("acc_x", "example.com"),
        None,
    ),
    "the MTA: a sending domain's DKIM keys": (
        Collections.DKIM_KEYS,
        dkim.keys_selector("acc_x", "example.com"),
        None,
    ),
    "due providers / due batch": (
        Collections.MESSAGES,
        outbox.due_selector("prv_x"),
        outbox.IN_QUEUE_ORDER,
    ),
    "recovery: queued long ago": (
        Collections.MESSAGES,
        outbox.QUEUED_LONG_AGO.selector(MessageKind.IMMEDIATE, NOW - timedelta(minutes=2)),
        [("published_at", 1)],
    ),
    "recovery: queued long ago, suspended accounts left alone": (
        Collections.MESSAGES,
        outbox.stuck_selector(
            outbox.QUEUED_LONG_AGO,
            MessageKind.BATCH,
            NOW - timedelta(minutes=2),
            {"acc_x", "acc_y"},
        ),
        [("published_at", 1)],
    ),
    "recovery: lease ran out": (
        Collections.MESSAGES,
        outbox.LEASE_RAN_OUT.selector(MessageKind.BATCH, NOW - timedelta(minutes=5)),
        [("claimed_at", 1)],
    ),
    "recovery: retry never came": (
        Collections.MESSAGES,
        outbox.RETRY_NEVER_CAME.selector(MessageKind.BATCH, NOW - timedelta(hours=3)),
        [("claimed_at", 1)],
    ),
    "message list: live, failed, with a tag, older than the cursor": (
        Collections.MESSAGES,
        message_search.older_than(
            message_search.selector(
                "acc_x", MessageFilter(sandbox=False, status="failed", tag="t")
            ),
            NOW,
        ),
        message_search.NEWEST_FIRST,
    ),
    "message list: the cursor's second, by id": (
        Collections.MESSAGES,
        message_search.within(message_search.selector("acc_x", MessageFilter(sandbox=True)), NOW),
        message_search.BY_ID,
    ),
    "message list: one recipient, a date range": (
        Collections.MESSAGES,
        message_search.selector(
            "acc_x",
            MessageFilter(
                sandbox=False,
                to="ann@example.com",
                created_after=NOW - timedelta(days=1),
                created_before=NOW,
            ),
        ),
        message_search.NEWEST_FIRST,
    ),
    "stats: an account's messages in a bucket": (
        Collections.MESSAGES,
        stats.range_selector("acc_x", False, NOW - timedelta(hours=1), NOW),
        None,
    ),
    "stats: an account's events in a bucket": (
        Collections.EVENTS,
        stats.range_selector("acc_x", True, NOW - timedelta(hours=1), NOW),
        None,
    ),
    "a message's last deferral (mailpass messages)": (
        Collections.EVENTS,
        events.last_deferral_selector({"_id": "<m@x>", "account_id": "acc_x"}),  # type: ignore[typeddict-item]
        [("created_at", -1), ("_id", -1)],
    ),
    "a message's events": (
        Collections.EVENTS,
        where(message_id="<m@x>", account_id="acc_x"),
        [("created_at", 1), ("_id", 1)],
    ),
    "a page of a message's events, newest first": (
        Collections.EVENTS,
        where(message_id="<m@x>", account_id="acc_x", created_at={"$lte": NOW}),
        [("created_at", -1), ("_id", -1)],
    ),
    "retention: bodies to purge, oldest first": (
        Collections.MESSAGES,
        where(body_purged_at=None, created_at={"$lt": NOW}, status="sent"),
        [("body_purged_at", 1), ("created_at", 1)],
    ),
    "scheduled messages that are due": (
        Collections.MESSAGES,
        scheduled.due_selector(NOW),
        scheduled.IN_DUE_ORDER,
    ),
    "suppression check (one $in over a request's recipients)": (
        Collections.SUPPRESSIONS,
        {"_id": {"$in": [suppressions.suppression_id("acc_x", a) for a in ("a@x", "b@y")]}},
        None,
    ),
    "suppression list page (an address prefix, after the cursor)": (
        Collections.SUPPRESSIONS,
        suppressions.page_selector("acc_x", prefix="a", after="ann@example.com"),
        [("_id", 1)],
    ),
    "webhooks: an account's endpoints": (
        Collections.WEBHOOK_ENDPOINTS,
        where(account_id="acc_x"),
        None,
    ),
    "webhooks: the relay's pending events, oldest claim first": (
        Collections.WEBHOOK_EVENTS,
        where(state="pending", lease_until={"$lt": 1e9}),
        [("lease_until", 1)],
    ),
    "webhooks: an endpoint's attempts, newest first, after a cursor": (
        Collections.WEBHOOK_ATTEMPTS,
        where(endpoint_id="ep_x", account_id="acc_x", seq={"$lt": "6543"}),
        [("seq", -1)],
    ),
    "claim and record (by _id)": (
        Collections.MESSAGES,
        {"_id": {"$in": ["<a@x>", "<b@x>"]}, "status": {"$in": ["queued", "deferred"]}},
        None,
    ),
    "claim: no current claim given at acceptance (by _id)": (
        Collections.MESSAGES,
        {"_id": {"$in": ["<a@x>", "<b@x>"]}, **claims.claim_selectors(timedelta(minutes=2))[0]},
        None,
    ),
    "claim: stored before claims were given at acceptance (by _id)": (
        Collections.MESSAGES,
        {"_id": {"$in": ["<a@x>", "<b@x>"]}, **claims.claim_selectors(timedelta(minutes=2))[1]},
        None,
    ),
    "claim: by the tokens given at acceptance (by _id)": (
        Collections.MESSAGES,
        {
            "_id": {"$in": ["<a@x>", "<b@x>"]},
            **claims.claim_selectors(timedelta(minutes=2), [claims.accepted_token()])[0],
        },
        None,
    ),
    "mailpass-inbound: the message a return path names (its possible ids)": (
        Collections.MESSAGES,
        inbound_service.selector("<0123abcd.1765000000@", ["mail.example", "old.example"]),
        None,
    ),
}


# The declared index of messages each query of messages reads (its name in
# mailpass_common.platform.indexes; ``_id_``: the lookup by _id).
SERVED_BY: dict[str, str] = {
    "due providers / due batch": "queued_by_published_at",
    "recovery: queued long ago": "queued_by_published_at",
    "recovery: queued long ago, suspended accounts left alone": "queued_by_published_at",
    "recovery: lease ran out": "sending_by_claimed_at",
    "recovery: retry never came": "deferred_by_claimed_at",
    "message list: live, failed, with a tag, older than the cursor": (
        "account_id_1_sandbox_1_created_at_1"
    ),
    "message list: the cursor's second, by id": "account_id_1_sandbox_1_created_at_1",
    "message list: one recipient, a date range": "account_id_1_sandbox_1_to_1_created_at_1",
    "stats: an account's messages in a bucket": "account_id_1_sandbox_1_created_at_1",
    "retention: bodies to purge, oldest first": "body_purged_at_1_created_at_1",
    "scheduled messages that are due": "scheduled_by_scheduled_at",
    "claim and record (by _id)": "_id_",
    "claim: no current claim given at acceptance (by _id)": "_id_",
    "claim: stored before claims were given at acceptance (by _id)": "_id_",
    "claim: by the tokens given at acceptance (by _id)": "_id_",
    "mailpass-inbound: the message a return path names (its possible ids)": "_id_",
}


def _plan_lines(plan: Any) -> list[str]:
    """Every stage name (MongoDB) or SQLite plan line (nx-27017) in an explain result."""
    found: list[str] = []
    if isinstance(plan, dict):
        for key, value in plan.items():
            if key in ("stage", "detail") and isinstance(value, str):
                found.append(value)
            else:
                found += _plan_lines(value)
    elif isinstance(plan, list):
        for value in plan:
            found += _plan_lines(value)
    return found


async def _winning_plan(db: Database, name: str) -> Any:
    collection, selector, sort = PLANS[name]
    command: dict[str, Any] = {"find": collection, "filter": selector}
    if sort:
        command["sort"] = dict(sort)
    result = await db.command({"explain": command, "verbosity": "queryPlanner"})
    return result.get("queryPlanner", {}).get("winningPlan")


def _index_names(plan: Any) -> set[str]:
    """The indexes a plan reads: MongoDB's ``indexName`` of each stage, nx-27017's
    ``USING INDEX <name>`` of each SQLite plan line."""
    if isinstance(plan, dict):
        found = {plan["indexName"]} if isinstance(plan.get("indexName"), str) else set()
        return found.union(*(_index_names(v) for v in plan.values()))
    if isinstance(plan, list):
        return set().union(*(_index_names(v) for v in plan))
    if isinstance(plan, str):
        return set(re.findall(r"USING (?:COVERING )?INDEX (\S+)", plan))
    return set()


async def _declared_served(db: Database, name: str) -> set[str]:
    """The declared indexes of ``messages`` a query's plan reads, by their declared name.

    MongoDB names the index it reads as declared. nx-27017 names each index after its
    key and holds one per key (it keeps no name and no partial filter): it reads every
    declared index of the key it reads, as far as this goes."""
    used = _index_names(await _winning_plan(db, name))
    listed = await db[Collections.MESSAGES].index_information()
    keys = {n: [(f, int(o)) for f, o in info["key"]] for n, info in listed.items()}
    keys[f"idx_{Collections.MESSAGES}_id"] = [("_id", 1)]  # nx-27017's _id_, as it reads it
    declared = {m.document["name"]: list(m.document["key"].items()) for m in MESSAGES_INDEXES}
    declared["_id_"] = [("_id", 1)]
    if all(n in listed for n in declared):
        return used & set(declared)
    read = [keys[n] for n in used if n in keys]
    return {n for n, key in declared.items() if key in read}


@pytest.mark.parametrize("name", SERVED_BY)
async def test_a_query_of_messages_reads_the_index_meant_for_it(db: Database, name: str) -> None:
    assert SERVED_BY[name] in await _declared_served(db, name)


async def test_every_index_of_messages_serves_a_listed_query(db: Database) -> None:
    """Each index costs every insert (and status change) a write: none is kept for nothing."""
    assert {p for p, (c, _, _) in PLANS.items() if c == Collections.MESSAGES} == set(SERVED_BY)
    used: set[str] = set()
    for name in SERVED_BY:
        used |= await _declared_served(db, name)
    unused = [m.document["name"] for m in MESSAGES_INDEXES if m.document["name"] not in used]
    assert not unused, f"indexes of messages no listed query uses: {unused}"


async def test_the_indexes_of_a_state_are_partial_to_that_state() -> None:
    """A status change of an ordinary message enters and leaves only the indexes of the
    states it passes through; the query each serves names that status by equality."""
    for model in MESSAGES_INDEXES:
        document = model.document
        if "status" not in document["key"]:
            continue
        state = document["partialFilterExpression"]["status"]
        queries = [p for p, index in SERVED_BY.items() if index == document["name"]]
        assert queries, document["name"]
        for query in queries:
            assert PLANS[query][1]["status"] == {"$eq": state}, query


async def test_a_retired_index_is_dropped_from_an_existing_database(db: Database) -> None:
    """An existing database has the full indexes of the previous version: ensure_indexes
    drops them and keeps every declared one, and a second run drops nothing."""
    messages = db[Collections.MESSAGES]
    retired = RETIRED_INDEXES[Collections.MESSAGES]
    for key in retired:
        await messages.create_index(key)
    keys = [info["key"] for info in (await messages.index_information()).values()]
    assert all(key in keys for key in retired)

    await ensure_indexes(db)
    listed = await messages.index_information()
    declared = {m.document["name"]: list(m.document["key"].items()) for m in MESSAGES_INDEXES}
    if all(name in listed for name in declared):  # MongoDB: each as declared, partial ones too
        assert set(listed) == {*declared, "_id_"}
        for model in MESSAGES_INDEXES:
            partial = model.document.get("partialFilterExpression")
            assert listed[model.document["name"]].get("partialFilterExpression") == partial
    else:  # nx-27017: one index per declared key; the retired keys of no declared index gone
        listed_keys = sorted(info["key"] for name, info in listed.items() if name != "_id_")
        assert listed_keys == sorted(list(k) for k in {tuple(key) for key in declared.values()})
    assert not any(
        info["key"] == [("account_id", 1), ("created_at", 1)] for info in listed.values()
    )

    await ensure_indexes(db)
    assert await messages.index_information() == listed


@pytest.mark.parametrize("name", PLANS)
async def test_hot_path_query_is_served_by_an_index(db: Database, name: str) -> None:
    collection = PLANS[name][0]
    winning = await _winning_plan(db, name)
    lines = _plan_lines(winning)
    assert lines, f"no plan for {name}: {winning}"
    if isinstance(winning, dict):  # MongoDB: a tree of stages
        assert "IXSCAN" in lines and "COLLSCAN" not in lines, f"{name}: {lines}"
    else:  # nx-27017: the lines of SQLite's plan; those about the collection's table
        table_lines = [line for line in lines if f" {collection}" in line]
        assert table_lines and all("USING" in line and "INDEX" in line for line in table_lines), (
            f"{name} is not served by an index: {lines}"
        )
