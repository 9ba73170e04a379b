"""Several worker processes of one service on one machine, sharing its ports.

Python runs one core per process. On a machine with several cores, ``GATEWAY_WORKERS``
or ``SENDER_WORKERS`` above 1 runs that many copies of the service under a small
supervisor here: each worker binds the service's ports itself with ``SO_REUSEPORT`` (the
kernel spreads new connections over them), and Prometheus metrics go through
prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``), so whichever worker
answers a scrape of the management port answers for all of them. In a cluster, one
worker per pod and more replicas is simpler (the chart does that); workers are for one
machine with idle cores.

The supervisor forwards SIGTERM and SIGINT to the workers, waits for them to finish
what they are doing, and starts a new worker in place of one that dies on its own.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess
from pathlib import Path
from types import FrameType

from mailpass_common.platform.telemetry import log_fields

log = logging.getLogger(__name__)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def listening_socket(host: str, port: int, *, reuse_port: bool) -> socket.socket:
    """A bound, listening TCP socket; with ``reuse_port``, one each worker may also bind."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def _prepare_metrics_dir() -> None:
    """Multiprocess metrics need a directory of their own, empty at start."""
    directory = os.environ.get(MULTIPROC_ENV)
    if directory:
        path = Path(directory)
        if path.exists():
            for stale in path.glob("*.db"):
                stale.unlink()
        path.mkdir(parents=True, exist_ok=True)
    else:
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="mailpass-metrics-")


def run_workers(count: int, target: Callable[[], None]) -> None:
    """Run ``target`` (a module-level function) in ``count`` processes until signalled."""
    if count <= 1:
        target()
        return
    _prepare_metrics_dir()
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> BaseProcess:
        process = context.Process(target=target, daemon=False)
        process.start()
        return process

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for process in workers:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGTERM)

    workers = [start() for _ in range(count)]
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        while True:
            alive = 0
            for index, process in enumerate(workers):
                if process.is_alive():
                    alive += 1
                elif not stopping:
                    log.error(
                        "worker died; starting another",
                        extra=log_fields(pid=process.pid, exit_code=process.exitcode),
                    )
                    _forget(process)
                    workers[index] = start()
            if stopping and alive == 0:
                return
            time.sleep(0.5)
    finally:
        directory = os.environ.get(MULTIPROC_ENV, "")
        if directory.startswith(tempfile.gettempdir()) and "mailpass-metrics-" in directory:
            shutil.rmtree(directory, ignore_errors=True)


def _forget(process: BaseProcess) -> None:
    """A dead worker's live gauges no longer count (multiprocess mode)."""
    from prometheus_client import multiprocess

    if process.pid is not None:
        multiprocess.mark_process_dead(process.pid)  # type: ignore[no-untyped-call]
