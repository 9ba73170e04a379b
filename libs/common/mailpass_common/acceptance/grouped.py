"""The single database operations of concurrent acceptances, sent together: each
message's insert and each suppression lookup go out with those of the requests (or SMTP
sessions) in flight beside it in the process, one command for all of them
(:mod:`mailpass_common.platform.coalesce`). One alone costs what it did.

``mailpass_grouped_operations_total{operation}`` and ``mailpass_grouped_commands_total``
count them (operations / commands: how many shared a round trip)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from prometheus_client import Counter

from mailpass_common.messages import service as messages
from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.coalesce import Coalescer
from mailpass_common.platform.db import Database
from mailpass_common.platform.metrics import children
from mailpass_common.suppressions import service as suppressions

GROUPED_OPERATIONS = Counter(
    "mailpass_grouped_operations_total",
    "Single database operations of concurrent requests sent together (insert, "
    "suppression_lookup): the operations.",
    ["operation"],
)
GROUPED_COMMANDS = Counter(
    "mailpass_grouped_commands_total",
    "The MongoDB commands those operations went out in.",
    ["operation"],
)
GROUPED, GROUPED_IN = children(GROUPED_OPERATIONS), children(GROUPED_COMMANDS)


@dataclass(frozen=True)
class Grouped:
    inserts: Coalescer[MessageDocument, None]
    lookups: Coalescer[tuple[str, Sequence[str]], dict[str, str]]

    @classmethod
    def of(cls, db: Database) -> Grouped:
        async def insert_each(docs: Sequence[MessageDocument]) -> list[BaseException | None]:
            return await messages.insert_each(db, docs)

        async def suppressed_each(
            asks: Sequence[tuple[str, Sequence[str]]],
        ) -> list[dict[str, str]]:
            return await suppressions.suppressed_each(db, asks)

        return cls(
            inserts=Coalescer(insert_each, observe=_observer("insert")),
            lookups=Coalescer(suppressed_each, observe=_observer("suppression_lookup")),
        )

    async def insert(self, doc: MessageDocument) -> None:
        await self.inserts.submit(doc)

    async def suppressed(self, account_id: str, addresses: Sequence[str]) -> dict[str, str]:
        """Which of the addresses the account suppresses (normalized address → reason)."""
        return await self.lookups.submit((account_id, tuple(addresses)))


def _observer(operation: str) -> Callable[[int], None]:
    operations, commands = GROUPED(operation), GROUPED_IN(operation)

    def observe(items: int) -> None:
        operations.inc(items)
        commands.inc()

    return observe
