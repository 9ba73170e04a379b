"""The chaos run's client: send-batch and /send requests, some cut off and retried.

Every request carries an ``Idempotency-Key`` of its own, and every message names its
request's key and its place in it in ``metadata`` (``chaos_key``, ``chaos_n``), so the
harness can find in MongoDB any message an idempotent retry created a second time, even
one whose id no response ever showed.

Requests are spread evenly over the run's duration. One in ``cut_every`` is cut off:
written whole on a raw connection, which is closed after a short pause without reading
a byte of the answer. It is then retried, like every request that got no usable answer
(a dropped connection, a 5xx other than SEND_FAILED, 409 "still in progress"), with the
same key and body until an answer says what became of its messages.

Accepted: every message id an answer named, i.e. 200 ``sent``, 202 ``queued``, a batch's
queued entries, and 500 SEND_FAILED (the message exists and is recorded failed).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import secrets
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx

SEND_PATH = "/api/v1/mail/send"
BATCH_PATH = "/api/v1/mail/send-batch"
BATCH_SIZE = 100
RETRY_PAUSE_SECONDS = 0.25
# A request not answered within this long is given up on (and reported).
GIVE_UP_SECONDS = 240.0
BODY = "A message of the MailPass chaos run.\n" * 4


@dataclass
class LoadResult:
    # message id -> (endpoint, idempotency key)
    accepted: dict[str, tuple[str, str]] = field(default_factory=dict)
    # idempotency key -> distinct message ids seen in its answers
    ids_by_key: dict[str, set[str]] = field(default_factory=dict)
    # idempotency key -> messages its request holds
    sizes: dict[str, int] = field(default_factory=dict)
    statuses: Counter[str] = field(default_factory=Counter)
    requests: int = 0
    cut_off: int = 0
    retries: int = 0
    replayed: int = 0
    given_up: list[str] = field(default_factory=list)
    last_accepted_at: float = 0.0  # time.monotonic()

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "accepted_messages": len(self.accepted),
            "cut_off": self.cut_off,
            "retries": self.retries,
            "replayed": self.replayed,
            "statuses": dict(sorted(self.statuses.items())),
            "given_up": self.given_up,
        }


def recipient(kind: str, request: int, n: int) -> str:
    return f"chaos-{kind}{request:05d}-{n:03d}@example.com"


def _message(kind: str, key: str, request: int, n: int) -> dict[str, Any]:
    return {
        "to": recipient(kind, request, n),
        "subject": f"chaos {kind}{request:05d}-{n:03d}",
        "text": BODY,
        "metadata": {"chaos_key": key, "chaos_n": n},
    }


class LoadClient:
    def __init__(self, base_url: str, api_key: str, *, cut_every: int, seed: int) -> None:
        self.base_url = base_url
        self.api_key = api_key
        self.cut_every = cut_every
        self.result = LoadResult()
        self._rng = random.Random(seed)
        self._client = httpx.AsyncClient(base_url=base_url, timeout=60)

    async def close(self) -> None:
        await self._client.aclose()

    async def run(
        self, batch: int, send: int, duration: float, batch_concurrency: int, send_concurrency: int
    ) -> LoadResult:
        batch_requests = [
            [(i, n) for n in range(start, min(start + BATCH_SIZE, batch))]
            for i, start in enumerate(range(0, batch, BATCH_SIZE))
        ]
        started = time.monotonic()
        batch_gate = asyncio.Semaphore(batch_concurrency)
        send_gate = asyncio.Semaphore(send_concurrency)

        async def at(offset: float, gate: asyncio.Semaphore, path: str, body: Any, k: str) -> None:
            await asyncio.sleep(max(0.0, started + offset - time.monotonic()))
            async with gate:
                await self._request(path, body, k)

        jobs = []
        for i, entries in enumerate(batch_requests):
            key = f"chaos-b{i:05d}-{secrets.token_hex(4)}"
            body = {"messages": [_message("b", key, i, n - entries[0][1]) for _, n in entries]}
            self.result.sizes[key] = len(entries)
            offset = duration * i / max(1, len(batch_requests))
            jobs.append(at(offset, batch_gate, BATCH_PATH, body, key))
        for i in range(send):
            key = f"chaos-s{i:05d}-{secrets.token_hex(4)}"
            self.result.sizes[key] = 1
            offset = duration * i / max(1, send)
            jobs.append(at(offset, send_gate, SEND_PATH, _message("s", key, i, 0), key))
        await asyncio.gather(*jobs)
        return self.result

    def _cut_this_one(self) -> bool:
        self.result.requests += 1
        return self.cut_every > 0 and self.result.requests % self.cut_every == self.cut_every // 2

    async def _request(self, path: str, body: Any, key: str) -> None:
        content = json.dumps(body).encode()
        if self._cut_this_one():
            self.result.cut_off += 1
            await self._cut_off(path, content, key, pause=self._rng.uniform(0.0, 0.3))
            self.result.retries += 1
        deadline = time.monotonic() + GIVE_UP_SECONDS
        while True:
            answer = await self._post(path, content, key)
            if answer is not None and self._take(path, key, *answer):
                return
            if time.monotonic() > deadline:
                self.result.given_up.append(key)
                return
            self.result.retries += 1
            await asyncio.sleep(RETRY_PAUSE_SECONDS)

    async def _post(self, path: str, content: bytes, key: str) -> tuple[int, Any, bool] | None:
        headers = {
            "Authorization": f"Bearer {self.api_key}",
            "Content-Type": "application/json",
            "Idempotency-Key": key,
        }
        try:
            response = await self._client.post(path, content=content, headers=headers)
        except httpx.HTTPError as exc:
            self.result.statuses[type(exc).__name__] += 1
            return None
        self.result.statuses[str(response.status_code)] += 1
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        try:
            data = response.json()
        except ValueError:
            data = None
        return response.status_code, data, replayed

    def _take(self, path: str, key: str, status: int, data: Any, replayed: bool) -> bool:
        """Record what an answer says was accepted; False when it says nothing final."""
        ids: list[str | None] = []
        payload = (data or {}).get("data") or {} if isinstance(data, dict) else {}
        error = (data or {}).get("error") or {} if isinstance(data, dict) else {}
        if status in (200, 202) and path == SEND_PATH:
            ids = [payload.get("message_id")]
        elif status == 200 and path == BATCH_PATH:
            ids = [m.get("message_id") for m in payload.get("messages", []) if m.get("message_id")]
        elif status == 500 and error.get("code") == "SEND_FAILED":
            ids = [(error.get("details") or {}).get("message_id")]
        else:
            return False  # 409 in progress, 5xx, a dropped connection: ask again
        if replayed:
            self.result.replayed += 1
        endpoint = "send" if path == SEND_PATH else "send-batch"
        for message_id in ids:
            if message_id:
                self.result.accepted[message_id] = (endpoint, key)
                self.result.ids_by_key.setdefault(key, set()).add(message_id)
        self.result.last_accepted_at = time.monotonic()
        return True

    async def _cut_off(self, path: str, content: bytes, key: str, pause: float) -> None:
        """Write the whole request on a connection of its own, then hang up unanswered."""
        url = urlparse(self.base_url)
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {url.hostname}:{url.port}\r\n"
            f"Authorization: Bearer {self.api_key}\r\nContent-Type: application/json\r\n"
            f"Idempotency-Key: {key}\r\nContent-Length: {len(content)}\r\n"
            "Connection: close\r\n\r\n"
        )
        try:
            _, writer = await asyncio.open_connection(url.hostname, url.port)
        except OSError:
            return
        try:
            writer.write(head.encode() + content)
            await writer.drain()
            await asyncio.sleep(pause)
        except OSError:
            pass
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()
