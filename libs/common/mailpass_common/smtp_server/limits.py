"""What one SMTP server lets clients use: connections at once (all clients, and per client
address), and how many failures (failed authentications...) an address may have in a
window before it is cut off.

Kept in process memory, so they hold per replica: ``N`` replicas admit ``N`` times the
connections and failures. That is the point of a per-process limit (it protects this
process) and is enough against guessing (an address is cut off after a handful of
failures anywhere); the window forgets addresses as they age out and keeps at most
``max_tracked`` of them, oldest forgotten first, so a flood of addresses cannot grow it.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque
from collections.abc import Callable
from enum import StrEnum


class Refusal(StrEnum):
    SERVER_FULL = "refused_server_full"
    CLIENT_FULL = "refused_client_full"
    CLIENT_BLOCKED = "refused_client_blocked"  # too many failures (FailureWindow)


class ConnectionLimits:
    """Open connections, counted as they open and close."""

    def __init__(self, max_connections: int, max_per_client: int) -> None:
        self.max_connections = max_connections
        self.max_per_client = max_per_client
        self.open = 0
        self._per_client: dict[str, int] = {}

    def admit(self, client: str) -> Refusal | None:
        """Count a new connection from ``client``, or say why it is refused."""
        if self.open >= self.max_connections:
            return Refusal.SERVER_FULL
        if self._per_client.get(client, 0) >= self.max_per_client:
            return Refusal.CLIENT_FULL
        self.open += 1
        self._per_client[client] = self._per_client.get(client, 0) + 1
        return None

    def release(self, client: str) -> None:
        self.open -= 1
        left = self._per_client.get(client, 1) - 1
        if left > 0:
            self._per_client[client] = left
        else:
            self._per_client.pop(client, None)


class FailureWindow:
    """Failures per client address over the last ``window_seconds``: at ``limit``, the
    address is blocked until its oldest failure ages out."""

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        *,
        max_tracked: int = 100_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self.max_tracked = max_tracked
        self._clock = clock
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, client: str) -> deque[float] | None:
        failures = self._failures.get(client)
        if failures is None:
            return None
        horizon = self._clock() - self.window_seconds
        while failures and failures[0] <= horizon:
            failures.popleft()
        if not failures:
            del self._failures[client]
            return None
        return failures

    def blocked(self, client: str) -> bool:
        failures = self._recent(client)
        return failures is not None and len(failures) >= self.limit

    def record(self, client: str) -> bool:
        """Count a failure of ``client``; whether it is blocked now."""
        failures = self._recent(client)
        if failures is None:
            failures = self._failures[client] = deque()
        failures.append(self._clock())
        self._failures.move_to_end(client)
        while len(self._failures) > self.max_tracked:
            self._failures.popitem(last=False)
        return len(failures) >= self.limit
