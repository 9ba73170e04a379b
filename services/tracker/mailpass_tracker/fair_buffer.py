"""A bounded buffer shared fairly between accounts, and what keeps opens to one a minute.

:class:`FairBuffer` holds the tracker's events while they wait for MongoDB. It is bounded
in total (the pixel never waits on the database, so while MongoDB is slow or down the
buffer fills); when it is full, the account holding the most events gives up its oldest.
One account flooding its own links therefore evicts its own events, never those of an
account with fewer buffered, and batches are taken round-robin across accounts, so the
flood does not delay the others' writes either.

A token carries only the message id, so the account is learnt from the database when an
event is written, and remembered (:class:`KnownAccounts`, bounded): events of a message
whose account is not known yet share one queue (``UNKNOWN``) until its first write, a
second or so. To flood someone else's share, a tenant would need a steady supply of
messages nobody has opened yet, each one an email its provider sent.

:class:`RecentOpens` keeps one open per message, reader (IP) and minute: mail clients and
image proxies fetch a pixel again and again, and a loop of such requests must not fill
the buffer. It is per process and in memory; the database keeps the rule across tracker
replicas (:func:`open_event_id`: those opens share an ``_id``, and the second insert is
skipped).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict, defaultdict, deque
from datetime import datetime
from typing import Generic, TypeVar

from bson import ObjectId

T = TypeVar("T")
UNKNOWN = ""  # the queue of events whose account is not known yet


class FairBuffer(Generic[T]):
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._queues: dict[str, deque[T]] = {}
        self._owners_by_size: defaultdict[int, set[str]] = defaultdict(set)
        self._largest = 0
        self._turns: deque[str] = deque()  # owners in round-robin order (may hold stale ones)
        self._in_turns: set[str] = set()
        self._length = 0

    def __len__(self) -> int:
        return self._length

    def size_of(self, owner: str) -> int:
        return len(self._queues.get(owner, ()))

    def put(self, owner: str, item: T) -> T | None:
        """Add ``item``; return the item that gave way when the buffer was full."""
        evicted = None
        if self._length >= self.capacity:
            largest = next(iter(self._owners_by_size[self._largest]))
            evicted = self._pop(largest)
        queue = self._queues.setdefault(owner, deque())
        self._resize(owner, len(queue), len(queue) + 1)
        queue.append(item)
        self._length += 1
        if owner not in self._in_turns:
            self._in_turns.add(owner)
            self._turns.append(owner)
        return evicted

    def take(self, count: int) -> list[T]:
        """Up to ``count`` items, oldest first within each owner, one owner after another."""
        taken: list[T] = []
        while len(taken) < count and self._turns:
            owner = self._turns.popleft()
            if owner not in self._queues:  # emptied by evictions since its turn was set
                self._in_turns.discard(owner)
                continue
            taken.append(self._pop(owner))
            if owner in self._queues:
                self._turns.append(owner)
            else:
                self._in_turns.discard(owner)
        return taken

    def _pop(self, owner: str) -> T:
        queue = self._queues[owner]
        self._resize(owner, len(queue), len(queue) - 1)
        item = queue.popleft()
        if not queue:
            del self._queues[owner]
        self._length -= 1
        return item

    def _resize(self, owner: str, old: int, new: int) -> None:
        if old:
            self._owners_by_size[old].discard(owner)
        if new:
            self._owners_by_size[new].add(owner)
        if new > self._largest:
            self._largest = new
        # Sizes move by one, so the largest is found one step down when its set empties.
        while self._largest and not self._owners_by_size[self._largest]:
            del self._owners_by_size[self._largest]
            self._largest -= 1


class KnownAccounts:
    """Message id → account id, for the most recently written messages (bounded LRU)."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._accounts: OrderedDict[str, str] = OrderedDict()

    def get(self, message_id: str) -> str:
        account = self._accounts.get(message_id)
        if account is None:
            return UNKNOWN
        self._accounts.move_to_end(message_id)
        return account

    def remember(self, message_id: str, account_id: str) -> None:
        self._accounts[message_id] = account_id
        self._accounts.move_to_end(message_id)
        while len(self._accounts) > self._capacity:
            self._accounts.popitem(last=False)


def _minute(at: datetime) -> int:
    return int(at.timestamp()) // 60


class RecentOpens:
    """The (message, IP) pairs that opened in the current minute (a fixed UTC minute, the
    window :func:`open_event_id` uses too). Past ``capacity`` pairs in one minute it stops
    remembering, and the database's rule is the only one until the next minute."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._minute = -1
        self._seen: set[tuple[str, str | None]] = set()

    def first_in_minute(self, message_id: str, ip: str | None, at: datetime) -> bool:
        minute = _minute(at)
        if minute != self._minute:
            # Hits arrive in time order (each is stamped as it arrives): a new minute
            # starts a new window.
            if minute < self._minute:
                return True
            self._minute, self._seen = minute, set()
        key = (message_id, ip)
        if key in self._seen:
            return False
        if len(self._seen) < self._capacity:
            self._seen.add(key)
        return True


def open_event_id(message_id: str, ip: str | None, at: datetime) -> ObjectId:
    """The ``_id`` of an open: the same for every open of a message from one IP in one
    UTC minute. Its time part is the minute's start (events sort by ``created_at``)."""
    minute = _minute(at)
    digest = hashlib.sha256(f"{message_id}\x00{ip or ''}\x00{minute}".encode()).digest()
    return ObjectId((minute * 60).to_bytes(4, "big") + digest[:8])
