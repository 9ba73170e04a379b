"""The gateway's single database operations of concurrent ``/send`` requests, sent
together: each request's message insert and its suppression lookup go out with those of
the requests in flight beside it, one command for all of them
(:mod:`mailpass_common.platform.coalesce`). One request alone costs what it did."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from mailpass_common.messages import service as messages
from mailpass_common.messages.models import MessageDocument
from mailpass_common.platform.coalesce import Coalescer
from mailpass_common.platform.db import Database
from mailpass_common.suppressions import service as suppressions
from mailpass_gateway.metrics import GROUPED, GROUPED_IN


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
