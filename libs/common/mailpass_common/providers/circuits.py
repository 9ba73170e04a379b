"""Circuit breaker states as the senders report them (what the console shows).

A sender keeps its circuit breakers in memory, on purpose (``mailpass_sender.circuit``),
and each sender process has its own. So that a person can see them, a sender reports
each change, and nothing else: when a circuit opens, or opens again after a failed
trial delivery, and when it closes. That is at most one write per provider per open
period and process, off the delivery path (written by a background task), and none at
all while providers are healthy.

One document per provider and sender process, ``{_id: "{provider}:{sender}"}``, deleted
when the circuit closes. The console shows a provider's circuit as open while a report
says so and its open period has not run out: a sender that died with an open circuit
stops counting at the end of that period, which is also when a live one would let a
trial through. A TTL index removes such leftovers a day later.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from mailpass_common.platform.db import Collections, Database, where

LEFTOVER_DAYS = 1


@dataclass(frozen=True)
class CircuitState:
    provider_id: str
    open_on: int  # sender processes whose circuit for the provider is open now
    until: datetime  # the latest end of their open periods


async def report_open(
    db: Database,
    *,
    provider_id: str,
    account_id: str,
    sender_id: str,
    failures: int,
    until: datetime,
) -> None:
    doc_id = f"{provider_id}:{sender_id}"
    # The _id is in the replacement too: nx-27017's upsert otherwise inserts a new document
    # under an ObjectId of its own, every time. A replacement writes real dates on both.
    await db[Collections.CIRCUITS].replace_one(
        {"_id": doc_id},
        {
            "_id": doc_id,
            "provider_id": provider_id,
            "account_id": account_id,
            "sender_id": sender_id,
            "failures": failures,
            "opened_at": datetime.now(UTC),
            "until": until,
            "expires_at": until + timedelta(days=LEFTOVER_DAYS),
        },
        upsert=True,
    )


async def report_closed(db: Database, *, provider_id: str, sender_id: str) -> None:
    await db[Collections.CIRCUITS].delete_one({"_id": f"{provider_id}:{sender_id}"})


async def open_circuits(db: Database, account_id: str) -> dict[str, CircuitState]:
    """The account's providers whose circuit is open on some sender now."""
    reports = await db[Collections.CIRCUITS].find(where(account_id=account_id)).to_list()
    now = datetime.now(UTC)
    found: dict[str, CircuitState] = {}
    for report in reports:
        until = report.get("until")
        if not isinstance(until, datetime):
            continue
        until = until if until.tzinfo else until.replace(tzinfo=UTC)
        if until <= now:
            continue
        provider_id = str(report["provider_id"])
        known = found.get(provider_id)
        found[provider_id] = CircuitState(
            provider_id,
            (known.open_on if known else 0) + 1,
            max(until, known.until) if known else until,
        )
    return found
