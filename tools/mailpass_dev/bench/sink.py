"""Postfix's ``smtp-sink`` (the receiving side of every phase) and ``smtp-source`` (the reference).

Counting: smtp-sink runs with ``-c``, which writes ``sess=N quit=N mesg=N`` records,
separated by carriage returns, to stdout whenever a session ends, a QUIT is executed or a
message's final "." is received; ``mesg`` is the number of messages accepted since it
started. A reader thread keeps the latest value, so a phase's clock stops on what the
SMTP server accepted, never on what MongoDB says.

Duplicates: smtp-sink cannot tell one message from another by itself, so it also appends
every transaction to a dump file (``-D``) in a tmpfs directory; each bench message has a
unique subject, and :func:`subjects_in_dump` counts them after a phase (the dump is
rotated between phases). Both the pipeline and the smtp-source reference talk to this
same sink, with the same options, so the reference is measured under the same cost.
"""

from __future__ import annotations

import asyncio
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

SMTP_SINK = "/usr/sbin/smtp-sink"
SMTP_SOURCE = "/usr/sbin/smtp-source"
# The most simultaneous sessions smtp-sink serves (default 256) and its listen backlog.
MAX_SESSIONS = 1024
BACKLOG = 1024

_RECORD = re.compile(rb"sess=(\d+) quit=(\d+) mesg=(\d+)")


@dataclass(frozen=True)
class SinkCounters:
    sessions: int
    quits: int
    messages: int


def parse_counters(output: bytes) -> SinkCounters | None:
    """The last complete ``-c`` record in smtp-sink's output, or None before the first."""
    records = _RECORD.findall(output)
    if not records:
        return None
    sessions, quits, messages = (int(g) for g in records[-1])
    return SinkCounters(sessions, quits, messages)


def subjects_in_dump(dump: bytes, prefix: str) -> Counter[str]:
    """How many times each ``Subject: <prefix>…`` header appears in a smtp-sink dump."""
    pattern = re.compile(rb"^Subject: (" + re.escape(prefix.encode()) + rb"\S*)", re.MULTILINE)
    return Counter(m.group(1).decode() for m in pattern.finditer(dump))


class SmtpSink:
    """One smtp-sink on a free port, counting (and dumping) what it accepts."""

    def __init__(self, port: int, log_dir: Path) -> None:
        self.port = port
        self.log_dir = log_dir
        shm = Path("/dev/shm")
        self._dump_dir = Path(
            tempfile.mkdtemp(prefix="mailpass-bench-sink-", dir=shm if shm.is_dir() else None)
        )
        self.dump_path = self._dump_dir / "dump"
        self._process: subprocess.Popen[bytes] | None = None
        self._counters = SinkCounters(0, 0, 0)
        self._changed = threading.Condition()
        self._reader: threading.Thread | None = None

    def start(self) -> None:
        argv = [SMTP_SINK, "-c", "-m", str(MAX_SESSIONS), "-D", str(self.dump_path)]
        if os.geteuid() == 0:
            # smtp-sink refuses to keep root privileges: it runs as nobody, who must be
            # able to write the dump.
            nobody = pwd.getpwnam("nobody")
            os.chown(self._dump_dir, nobody.pw_uid, nobody.pw_gid)
            argv += ["-u", "nobody"]
        argv += [f"127.0.0.1:{self.port}", str(BACKLOG)]
        stderr = (self.log_dir / "smtp-sink.log").open("ab")
        self._process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=stderr)
        stderr.close()
        self._reader = threading.Thread(target=self._read, name="smtp-sink-counters", daemon=True)
        self._reader.start()
        deadline = time.monotonic() + 10
        while not _answers(self.port):
            if self._process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"smtp-sink did not start; see {self.log_dir}/smtp-sink.log")
            time.sleep(0.05)

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        pending = b""
        while chunk := os.read(fd, 65536):
            pending += chunk
            complete, _, pending = pending.rpartition(b"\r")
            counters = parse_counters(complete)
            if counters is not None:
                with self._changed:
                    self._counters = counters
                    self._changed.notify_all()

    @property
    def messages(self) -> int:
        """Messages accepted since the sink started."""
        with self._changed:
            return self._counters.messages

    def wait_for(self, count: int, timeout: float) -> int:
        """Block until ``count`` messages were accepted or ``timeout`` passed; the count."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._counters.messages < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._changed.wait(min(left, 0.5))
            return self._counters.messages

    async def reached(self, count: int, timeout: float) -> int:
        """:meth:`wait_for` in short slices, so a cancelled bench stops waiting at once."""
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            if await asyncio.to_thread(self.wait_for, count, min(left, 0.5)) >= count:
                break
        return self.messages

    def take_dump(self) -> bytes:
        """What was dumped since the last call (the sink recreates its dump file)."""
        taken = self._dump_dir / f"taken-{time.monotonic_ns()}"
        try:
            self.dump_path.rename(taken)
        except FileNotFoundError:
            return b""
        data = taken.read_bytes()
        taken.unlink()
        return data

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(5)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(5)
        if self._reader is not None:
            self._reader.join(5)
        shutil.rmtree(self._dump_dir, ignore_errors=True)


def _answers(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass(frozen=True)
class SourceRun:
    messages: int
    sessions: int
    message_bytes: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.messages / self.seconds


def run_smtp_source(
    sink: SmtpSink, *, messages: int, sessions: int, message_bytes: int
) -> SourceRun:
    """The reference: smtp-source sending ``messages`` to the sink over ``sessions``.

    ``-d`` keeps each session open for the next message, as the sender's connection
    pool does; the clock stops when the sink has counted them all.
    """
    start_count = sink.messages
    argv = [
        SMTP_SOURCE,
        "-d",
        *("-s", str(sessions), "-m", str(messages), "-l", str(message_bytes)),
        *("-f", "bench@mailpass.local", "-t", "sink@mailpass.local", "-S", "mailpass reference"),
        f"127.0.0.1:{sink.port}",
    ]
    started = time.monotonic()
    result = subprocess.run(argv, capture_output=True, timeout=600, check=False)
    received = sink.wait_for(start_count + messages, 60) - start_count
    elapsed = time.monotonic() - started
    if result.returncode != 0 or received < messages:
        raise RuntimeError(
            f"smtp-source failed (exit {result.returncode}, {received}/{messages} received): "
            f"{result.stderr.decode(errors='replace').strip()}"
        )
    sink.take_dump()
    return SourceRun(messages, sessions, message_bytes, elapsed)
