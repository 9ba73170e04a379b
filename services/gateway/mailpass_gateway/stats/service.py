"""Window counts for a caller, kept for a short time (see :mod:`mailpass_common.messages.stats`)."""

from __future__ import annotations

from typing import Any

from mailpass_common.acceptance.service import Caller
from mailpass_common.messages import stats
from mailpass_common.platform.cache import TtlCache
from mailpass_common.platform.dates import api_datetime
from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_gateway.errors import ApiError

# Counting a window reads every message and event in it: a dashboard polling the API,
# or an overview reloaded, is answered from memory for this long.
STATS_TTL_SECONDS = 10.0


class StatsCache:
    def __init__(self, db: Database, ttl_seconds: float = STATS_TTL_SECONDS) -> None:
        self._db = db
        self._cache: TtlCache[tuple[str, bool, str], stats.WindowStats] = TtlCache(ttl_seconds)

    async def window(
        self, caller: Caller, window: str, sandbox: bool | None = None
    ) -> stats.WindowStats:
        mode = caller.test if sandbox is None else sandbox
        if caller.test and not mode:
            raise ApiError(ErrorCode.FORBIDDEN, "A test API key sees only test messages")
        account_id = caller.account_id

        async def load() -> stats.WindowStats:
            return await stats.window_stats(self._db, account_id, sandbox=mode, window=window)

        found = await self._cache.get_or_load((account_id, mode, window), load)
        assert found is not None
        return found


def stats_view(found: stats.WindowStats) -> dict[str, Any]:
    return {
        "window": found.window,
        "sandbox": found.sandbox,
        "start": api_datetime(found.start),
        "end": api_datetime(found.end),
        "totals": found.totals.as_dict(),
        "capped": found.capped,
        "buckets": [
            {
                "start": api_datetime(bucket.start),
                "end": api_datetime(bucket.end),
                **bucket.counts.as_dict(),
                "capped": bucket.capped,
            }
            for bucket in found.buckets
        ],
    }
