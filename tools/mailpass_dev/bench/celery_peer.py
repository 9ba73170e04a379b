"""The peer users would otherwise pick: a Celery prefork pool on the same broker.

A worker (:mod:`mailpass_dev.bench.celery_worker`) with as many pool processes as the
stack has SMTP sessions to the sink consumes a queue of its own on the stack's RabbitMQ;
each task sends one message of the bench's size with :mod:`smtplib` to the same
smtp-sink. A run enqueues N tasks from ``PRODUCERS`` processes (started and connected
before the clock starts; one producer alone is slower than the pool) and is timed like a
batch run: from the first enqueue until the sink has accepted N more messages. Every
message has a unique subject, so lost and duplicated ones are counted from the sink's dump.
"""

from __future__ import annotations

import multiprocessing
import os
import secrets
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from mailpass_dev.bench.celery_worker import FROM_EMAIL, TASK_NAME, make_app
from mailpass_dev.bench.sink import SmtpSink, subjects_in_dump
from mailpass_dev.bench.tenant import RECIPIENT, message_body

READY_TIMEOUT = 60.0
PRODUCERS = 2
_producer_app: Any = None


def _connect_producer(broker: str, queue: str) -> None:
    """A producer process's app and broker connection, made before any run is timed."""
    global _producer_app
    _producer_app = make_app(broker, queue)
    with _producer_app.producer_or_acquire():
        pass


def _enqueue(prefix: str, start: int, stop: int, size: int) -> int:
    with _producer_app.producer_or_acquire() as producer:
        for i in range(start, stop):
            body = _message(f"{prefix}{i:07d}", size)
            _producer_app.send_task(TASK_NAME, args=(RECIPIENT, body), producer=producer)
    return stop - start


def _message(subject: str, size: int) -> str:
    message = EmailMessage()
    message["From"] = FROM_EMAIL
    message["To"] = RECIPIENT
    message["Subject"] = subject
    message["Message-ID"] = make_msgid(domain="mailpass.local")
    message.set_content(message_body(size))
    return message.as_string()


@dataclass
class CeleryPeer:
    broker: str
    sink: SmtpSink
    processes: int
    log_dir: Path
    message_bytes: int = 2048
    queue: str = ""
    _worker: subprocess.Popen[bytes] | None = None
    _producers: ProcessPoolExecutor | None = None

    def __post_init__(self) -> None:
        self.queue = self.queue or f"mailpass-bench-celery-{secrets.token_hex(4)}"

    def start(self) -> None:
        """Start the worker and wait until its pool has sent a first round of messages."""
        env = {
            **os.environ,
            "MAILPASS_BENCH_CELERY_BROKER": self.broker,
            "MAILPASS_BENCH_CELERY_QUEUE": self.queue,
            "MAILPASS_BENCH_CELERY_SINK_PORT": str(self.sink.port),
        }
        argv = [
            *(sys.executable, "-m", "celery", "-A", "mailpass_dev.bench.celery_worker"),
            *("worker", "--pool", "prefork", "--concurrency", str(self.processes)),
            *("--queues", self.queue, "--loglevel", "WARNING"),
            *("--without-gossip", "--without-mingle", "--without-heartbeat"),
        ]
        log = (self.log_dir / "celery-worker.log").open("ab")
        self._worker = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        self._producers = ProcessPoolExecutor(
            PRODUCERS,
            mp_context=multiprocessing.get_context("spawn"),
            initializer=_connect_producer,
            initargs=(self.broker, self.queue),
        )
        # Un-timed: the worker declares its queue, connects, and each process opens its
        # SMTP connection; a run starts once this round has reached the sink.
        warm = self.run(4 * self.processes, timeout=READY_TIMEOUT)
        if warm["lost"]:
            self.stop()
            raise RuntimeError(f"the Celery worker did not start; see {self.log_dir}")

    def run(self, n: int, timeout: float = 600.0) -> dict[str, Any]:
        assert self._producers is not None, "start() first"
        prefix = f"mpcelery-{secrets.token_hex(3)}-"
        self.sink.take_dump()
        base = self.sink.messages
        started = time.perf_counter()
        step = -(-n // PRODUCERS)
        slices = [(prefix, i, min(i + step, n), self.message_bytes) for i in range(0, n, step)]
        list(self._producers.map(_enqueue, *zip(*slices, strict=True)))
        enqueued = time.perf_counter() - started
        self.sink.wait_for(base + n, timeout - enqueued)
        elapsed = time.perf_counter() - started
        received = self.sink.messages - base
        subjects = subjects_in_dump(self.sink.take_dump(), prefix)
        return {
            "messages": n,
            "processes": self.processes,
            "received": received,
            "unique": len(subjects),
            "duplicates": sum(count - 1 for count in subjects.values()),
            "lost": n - len(subjects),
            "seconds": elapsed,
            "enqueue_seconds": enqueued,
            "rate": min(received, n) / elapsed,
        }

    def stop(self) -> None:
        if self._worker is not None and self._worker.poll() is None:
            self._worker.terminate()
            try:
                self._worker.wait(15)
            except subprocess.TimeoutExpired:
                self._worker.kill()
                self._worker.wait(5)
        if self._producers is not None:
            self._producers.shutdown()
