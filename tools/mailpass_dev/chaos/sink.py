"""The chaos run's SMTP provider: an aiosmtpd server that fails on purpose and keeps count.

It runs as a process of its own (``python -m mailpass_dev.chaos.sink``), so the load
generator never slows the provider down and the provider never dies with the harness's
faults. Failures are deterministic, decided by a hash of the run's seed:

- a *transaction* is refused at the end of DATA with ``451`` with probability
  ``temp_fail``, decided by the message's MailPass id and how many times this sink has
  seen it before: each retry of a message is a fresh draw, so a retried message
  eventually goes through (as with a real greylisting or busy server);
- a *recipient* is refused at RCPT with ``550`` with probability ``perm_fail``, decided
  by its address alone: a retry of that recipient is refused again, the message fails
  with the reply, and the harness can tell in advance which recipients those are
  (:func:`refused_recipient`).

Every message accepted (``250``) is one line of JSON in the record file, with its
``Message-ID`` (which is the MailPass message id), its recipients and when it arrived:
the harness counts deliveries and duplicates from it. Lines are flushed one by one, so
what the provider accepted is on disk whatever happens to the harness.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from aiosmtpd.smtp import SMTP, Envelope, Session

TEMP_FAIL_REPLY = "451 4.3.0 Temporary failure, try again later (chaos)"
PERM_FAIL_REPLY = "550 5.1.1 Mailbox unavailable (chaos)"
_MESSAGE_ID = re.compile(rb"^Message-ID:\s*(<[^>\r\n]+>)", re.IGNORECASE | re.MULTILINE)


def _draw(seed: int, *parts: object) -> float:
    """A uniform number in [0, 1) fixed by the seed and ``parts``."""
    text = ":".join(str(p) for p in (seed, *parts))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64


def refused_recipient(seed: int, address: str, perm_fail: float) -> bool:
    """Whether the sink refuses this recipient permanently (550), every time."""
    return _draw(seed, "rcpt", address.lower()) < perm_fail


def fails_transaction(seed: int, message_id: str, seen_before: int, temp_fail: float) -> bool:
    """Whether the sink answers this transaction 451 (each retry is a new draw)."""
    return _draw(seed, "data", message_id, seen_before) < temp_fail


def message_id_of(content: bytes) -> str | None:
    headers = content.split(b"\r\n\r\n", 1)[0]
    found = _MESSAGE_ID.search(headers)
    return found.group(1).decode() if found else None


class FaultyHandler:
    def __init__(self, records: TextIO, *, seed: int, temp_fail: float, perm_fail: float) -> None:
        self.records = records
        self.seed = seed
        self.temp_fail = temp_fail
        self.perm_fail = perm_fail
        self.seen: Counter[str] = Counter()  # DATA transactions per message id
        self.replies: Counter[str] = Counter()

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if refused_recipient(self.seed, address, self.perm_fail):
            self.replies["550"] += 1
            return PERM_FAIL_REPLY
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        message_id = message_id_of(content) or "?"
        seen_before = self.seen[message_id]
        self.seen[message_id] += 1
        if fails_transaction(self.seed, message_id, seen_before, self.temp_fail):
            self.replies["451"] += 1
            return TEMP_FAIL_REPLY
        self.replies["250"] += 1
        record = {"id": message_id, "to": list(envelope.rcpt_tos), "t": time.time()}
        self.records.write(json.dumps(record) + "\n")
        self.records.flush()
        return "250 2.0.0 Ok: queued"


async def serve(args: argparse.Namespace, records: TextIO) -> None:
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stopping.set)
    handler = FaultyHandler(
        records, seed=args.seed, temp_fail=args.temp_fail, perm_fail=args.perm_fail
    )

    def factory() -> SMTP:
        return SMTP(handler, hostname="chaos-sink", data_size_limit=None)

    server = await loop.create_server(factory, "127.0.0.1", args.port, backlog=1024)
    async with server:
        await stopping.wait()
    summary: dict[str, Any] = {"replies": dict(handler.replies)}
    print(json.dumps(summary), flush=True)


@dataclass(frozen=True)
class Accepted:
    """One message the sink accepted."""

    message_id: str
    to: tuple[str, ...]
    at: float  # Unix time


class SinkProcess:
    """The sink as a child process of the harness, on ``port``."""

    def __init__(self, port: int, log_dir: Path, *, seed: int, temp_fail: float, perm_fail: float):
        self.port = port
        self.records_path = log_dir / "sink-records.jsonl"
        self._log_path = log_dir / "sink.log"
        self._argv = [
            sys.executable,
            *("-m", "mailpass_dev.chaos.sink", "--port", str(port)),
            *("--records", str(self.records_path), "--seed", str(seed)),
            *("--temp-fail", str(temp_fail), "--perm-fail", str(perm_fail)),
        ]
        self._process: subprocess.Popen[bytes] | None = None
        self.replies: dict[str, int] = {}

    def start(self) -> None:
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self._argv, stdout=subprocess.PIPE, stderr=log, stdin=subprocess.DEVNULL
            )
        deadline = time.monotonic() + 20
        while not _answers(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the chaos SMTP sink did not start; see {self._log_path}")
            time.sleep(0.05)

    def stop(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            out, _ = process.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate(timeout=5)
        lines = out.decode(errors="replace").strip().splitlines()
        if lines:
            self.replies = json.loads(lines[-1]).get("replies", {})

    def accepted(self) -> list[Accepted]:
        if not self.records_path.exists():
            return []
        found = []
        for line in self.records_path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                data = json.loads(line)
                found.append(Accepted(data["id"], tuple(data["to"]), float(data["t"])))
        return found


def _answers(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m mailpass_dev.chaos.sink")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--records", required=True, help="JSON lines, one per accepted message")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--temp-fail", type=float, default=0.2)
    p.add_argument("--perm-fail", type=float, default=0.01)
    args = p.parse_args(argv)
    with open(args.records, "a", encoding="utf-8") as records:
        asyncio.run(serve(args, records))


if __name__ == "__main__":
    main()
