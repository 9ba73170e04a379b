"""The end of a chaos run: waiting for the drain, then counting what became of every message.

- **lost**: an id an answer gave the client (accepted) that the sink never accepted and
  that MongoDB does not record ``failed`` once the drain is over;
- **delivered more than once**: ids the sink accepted several times, each matched to the
  sender kill that explains it (the message had no outcome recorded just after a kill
  that came after its first acceptance: the sender died between the provider's 250 and
  the recording); their number is bounded by what the killed senders held;
- **failed, by reason**: the ``error_message`` of failed messages, addresses removed;
- **idempotent duplicates**: requests (``chaos_key`` in the metadata) that produced a
  message twice, counted in MongoDB (so also ones no answer named) and in the answers;
- **orphans**: messages stored for the tenant whose id no answer named.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pymongo

from mailpass_common.messages.models import MessageStatus
from mailpass_common.platform.db import Collections, Database, Document
from mailpass_dev.chaos.faults import Fault
from mailpass_dev.chaos.load import LoadResult
from mailpass_dev.chaos.sink import Accepted, refused_recipient

FINAL = (MessageStatus.SENT.value, MessageStatus.FAILED.value)
OPEN = (MessageStatus.QUEUED.value, MessageStatus.SENDING.value, MessageStatus.DEFERRED.value)
_ADDRESS = re.compile(r"<?[\w.+-]+@[\w.-]+>?")


async def open_messages(db: Database, account_id: str) -> int:
    """The tenant's messages not in a final state (one indexed query per status)."""
    total = 0
    for status in OPEN:
        found = await (
            db[Collections.MESSAGES]
            .find({"account_id": account_id, "status": status}, projection={"_id": 1})
            .to_list()
        )
        total += len(found)
    return total


async def drain(db: Database, account_id: str, timeout: float) -> tuple[float, int]:
    """Wait until every message of the tenant is final; (seconds waited, still open)."""
    started = time.monotonic()
    left = -1
    while time.monotonic() - started < timeout:
        try:
            left = await open_messages(db, account_id)
        except pymongo.errors.PyMongoError:
            left = -1
        if left == 0:
            break
        await asyncio.sleep(1.0)
    return time.monotonic() - started, left


def reason(error: str | None) -> str:
    text = _ADDRESS.sub("<rcpt>", error or "no error recorded")
    return re.sub(r"\s+", " ", text).strip()[:160]


@dataclass
class Tally:
    accepted: int = 0
    delivered: int = 0
    lost: list[str] = field(default_factory=list)
    not_final: list[str] = field(default_factory=list)
    delivered_and_failed: list[str] = field(default_factory=list)
    duplicates: list[dict[str, Any]] = field(default_factory=list)
    duplicate_bound: int = 0
    failed_by_reason: dict[str, int] = field(default_factory=dict)
    failed: int = 0
    expected_550: int = 0
    idempotent_duplicates: list[dict[str, Any]] = field(default_factory=list)
    orphans: list[str] = field(default_factory=list)

    @property
    def unexplained_duplicates(self) -> int:
        return sum(1 for d in self.duplicates if d["kill"] is None)

    def as_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "delivered": self.delivered,
            "lost": len(self.lost),
            "lost_ids": self.lost,
            "not_final_ids": self.not_final,
            "delivered_and_recorded_failed": self.delivered_and_failed,
            "delivered_more_than_once": len(self.duplicates),
            "duplicate_bound_in_flight_at_kills": self.duplicate_bound,
            "duplicates": self.duplicates,
            "unexplained_duplicates": self.unexplained_duplicates,
            "failed": self.failed,
            "failed_by_reason": self.failed_by_reason,
            "expected_permanent_failures": self.expected_550,
            "idempotent_duplicates": len(self.idempotent_duplicates),
            "idempotent_duplicate_requests": self.idempotent_duplicates,
            "orphans": self.orphans,
        }


# The sink stamps a message when it has handled its DATA, which on a busy machine can be
# a little after the sender, killed meanwhile, sent it.
SINK_LAG_SECONDS = 1.0


def _explain(message_id: str, first: float, kills: list[Fault]) -> dict[str, Any] | None:
    """The first kill after the message's first acceptance that found it unrecorded."""
    for kill in kills:
        if kill.at_unix >= first - SINK_LAG_SECONDS and message_id in kill.unrecorded_after:
            after = max(0.0, round(kill.at_unix - first, 3))  # within the sink's lag: 0
            return {"target": kill.target, "at": kill.at, "after": after}
    return None


async def tally(
    db: Database,
    account_id: str,
    load: LoadResult,
    sink: list[Accepted],
    faults: list[Fault],
    *,
    seed: int,
    perm_fail: float,
) -> Tally:
    docs: dict[str, Document] = {}
    cursor = db[Collections.MESSAGES].find(
        {"account_id": account_id},
        projection={"_id": 1, "status": 1, "error_message": 1, "metadata": 1, "to": 1},
    )
    async for doc in cursor:
        docs[doc["_id"]] = doc
    copies: Counter[str] = Counter(a.message_id for a in sink)
    first_at: dict[str, float] = {}
    for a in sink:
        first_at.setdefault(a.message_id, a.at)
    t = Tally(accepted=len(load.accepted))
    t.delivered = sum(1 for m in load.accepted if copies[m])
    kills = sorted((f for f in faults if f.kind == "sender_kill"), key=lambda f: f.at)
    t.duplicate_bound = sum(k.in_flight or 0 for k in kills)
    failed_reasons: Counter[str] = Counter()
    for message_id in load.accepted:
        doc = docs.get(message_id) or {}
        status = doc.get("status")
        if status == MessageStatus.FAILED.value:
            failed_reasons[reason(doc.get("error_message"))] += 1
            if copies[message_id]:
                t.delivered_and_failed.append(message_id)
        elif not copies[message_id]:
            t.lost.append(message_id)
        if status not in FINAL:
            t.not_final.append(message_id)
        to = doc.get("to") or []
        addresses = [to] if isinstance(to, str) else to
        if any(refused_recipient(seed, str(address), perm_fail) for address in addresses):
            t.expected_550 += 1
    t.failed = sum(failed_reasons.values())
    t.failed_by_reason = dict(failed_reasons.most_common())
    for message_id, count in sorted(copies.items()):
        if count > 1:
            t.duplicates.append(
                {
                    "message_id": message_id,
                    "copies": count,
                    "kill": _explain(message_id, first_at[message_id], kills),
                }
            )
    by_request: dict[tuple[Any, Any], list[str]] = {}
    for doc in docs.values():
        meta = doc.get("metadata") or {}
        by_request.setdefault((meta.get("chaos_key"), meta.get("chaos_n")), []).append(doc["_id"])
    for (key, n), ids in sorted(by_request.items(), key=lambda kv: str(kv[0])):
        if len(ids) > 1:
            t.idempotent_duplicates.append({"key": key, "n": n, "message_ids": sorted(ids)})
    for key, answered in sorted(load.ids_by_key.items()):
        if len(answered) > load.sizes.get(key, 1):
            t.idempotent_duplicates.append({"key": key, "answered": sorted(answered)})
    t.orphans = sorted(set(docs) - set(load.accepted))
    return t
