"""The Celery peer's worker side: ``celery -A mailpass_dev.bench.celery_worker worker``.

What a user would otherwise write: one task that sends one mail with :mod:`smtplib`. Each
pool process keeps its SMTP connection open for the next task (as the sender's pool and
smtp-source ``-d`` do), so the peer is not slowed by a connection per message.

Configured by the environment the bench gives the worker: ``MAILPASS_BENCH_CELERY_BROKER``
(the stack's broker URL), ``MAILPASS_BENCH_CELERY_QUEUE`` (a queue of the run's own) and
``MAILPASS_BENCH_CELERY_SINK_PORT`` (smtp-sink on 127.0.0.1).
"""

from __future__ import annotations

import os
import smtplib

from celery import Celery
from kombu.entity import Exchange, Queue

TASK_NAME = "mailpass_bench.send_one"
FROM_EMAIL = "bench@mailpass.local"


def make_app(broker: str, queue: str) -> Celery:
    """A Celery app on ``broker`` whose only queue (and exchange) is ``queue``.

    Both go away with the worker (auto-delete); no result backend, no remote control,
    no events: nothing else is declared on the shared broker.
    """
    app = Celery("mailpass_bench", broker=broker)
    exchange = Exchange(queue, type="direct", auto_delete=True, durable=False)  # type: ignore[no-untyped-call]
    app.conf.update(
        task_queues=[
            Queue(queue, exchange, routing_key=queue, auto_delete=True, durable=False)  # type: ignore[no-untyped-call]
        ],
        task_default_queue=queue,
        task_default_exchange=queue,
        task_default_routing_key=queue,
        task_ignore_result=True,
        worker_enable_remote_control=False,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        broker_connection_retry_on_startup=True,
    )
    return app


app = make_app(
    os.environ.get("MAILPASS_BENCH_CELERY_BROKER", "amqp://guest:guest@127.0.0.1:5672//"),
    os.environ.get("MAILPASS_BENCH_CELERY_QUEUE", "mailpass-bench-celery"),
)
_SINK_PORT = int(os.environ.get("MAILPASS_BENCH_CELERY_SINK_PORT", "0"))
_connection: smtplib.SMTP | None = None


def _smtp() -> smtplib.SMTP:
    global _connection
    if _connection is None:
        _connection = smtplib.SMTP("127.0.0.1", _SINK_PORT, timeout=30)
    return _connection


@app.task(name=TASK_NAME)  # type: ignore[untyped-decorator]
def send_one(recipient: str, message: str) -> None:
    """Send one message; on a broken connection, reconnect once and send it again."""
    global _connection
    try:
        _smtp().sendmail(FROM_EMAIL, [recipient], message.encode())
    except (smtplib.SMTPServerDisconnected, OSError):
        _connection = None
        _smtp().sendmail(FROM_EMAIL, [recipient], message.encode())
