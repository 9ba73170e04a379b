"""The audit log's queries are served by an index on either database (the same check as
``tests/delivery/test_query_plans.py``), and its entries end by a TTL index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mailpass_common.audit import query
from mailpass_common.audit.query import AuditFilter
from mailpass_common.platform.db import Collections, Database, ensure_indexes
from mailpass_common.platform.settings import CommonSettings
from tests.delivery.test_query_plans import _plan_lines

NOW = datetime.now(UTC)
CURSOR = "65f0c0ffee0000000000000a"

SELECTORS: dict[str, dict[str, Any]] = {
    "the newest entries": query.selector("acc_x", AuditFilter()),
    "the next page": query.selector("acc_x", AuditFilter(), CURSOR),
    "a time range": query.selector(
        "acc_x", AuditFilter(since=NOW - timedelta(days=1), until=NOW), CURSOR
    ),
    "one action": query.selector("acc_x", AuditFilter(action="provider.updated")),
    "one actor": query.selector("acc_x", AuditFilter(actor_id="key_x"), CURSOR),
    "one kind of resource": query.selector("acc_x", AuditFilter(resource_type="provider")),
    "one resource, a time range": query.selector(
        "acc_x",
        AuditFilter(resource_type="provider", resource_id="prv_x", since=NOW - timedelta(1)),
    ),
}


@pytest.mark.parametrize("name", SELECTORS)
async def test_audit_query_is_served_by_an_index(db: Database, name: str) -> None:
    command = {
        "find": Collections.AUDIT_EVENTS,
        "filter": SELECTORS[name],
        "sort": dict(query.NEWEST_FIRST),
    }
    result = await db.command({"explain": command, "verbosity": "queryPlanner"})
    winning = result.get("queryPlanner", {}).get("winningPlan")
    lines = _plan_lines(winning)
    assert lines, f"no plan for {name}: {result}"
    if isinstance(winning, dict):  # MongoDB
        assert "IXSCAN" in lines and "COLLSCAN" not in lines, f"{name}: {lines}"
    else:  # nx-27017: SQLite's plan
        table = [line for line in lines if f" {Collections.AUDIT_EVENTS}" in line]
        assert table and all("USING" in line and "INDEX" in line for line in table), (
            f"{name} is not served by an index: {lines}"
        )


async def _ttl(db: Database) -> int | None:
    for info in (await db[Collections.AUDIT_EVENTS].index_information()).values():
        if [(f, int(o)) for f, o in info["key"]] == [("created_at", 1)]:
            return int(info["expireAfterSeconds"])
    return None


async def test_retention_follows_the_setting(db: Database, service_env: dict[str, Any]) -> None:
    await ensure_indexes(db, CommonSettings(**service_env))
    assert await _ttl(db) == 365 * 86400  # the default: a year
    await ensure_indexes(db, CommonSettings(**service_env, audit_retention_days=30))
    assert await _ttl(db) == 30 * 86400
    await ensure_indexes(db, CommonSettings(**service_env, audit_retention_days=0))
    assert await _ttl(db) is None  # kept for ever
