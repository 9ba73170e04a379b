"""Starts (or finds) the real services the tests run against.

MongoDB: ``MONGODB_URL`` when set, else an nx-27017 wire server started here on a free
port with its data in a temporary directory. RabbitMQ: ``AMQP_URL`` (default the local
broker); when nothing answers, the tests fail and say how to start it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pymongo

from mailpass_common.platform.amqp_nodes import node_urls

DEFAULT_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.1)
    return False


@contextmanager
def mongodb() -> Iterator[str]:
    url = os.environ.get("MONGODB_URL")
    if url:
        yield url
        return
    exe = Path(sys.executable).with_name("nx-27017")
    if not exe.exists():
        raise RuntimeError(
            "nx-27017 is not installed in the virtual environment: run `make install`"
        )
    data = tempfile.mkdtemp(prefix="mailpass-nx-")
    port = free_port()
    log = open(Path(data) / "server.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            str(exe),
            "--data-dir",
            data,
            "--port",
            str(port),
            "--log-file",
            f"{data}/nx.log",
            "--pid-file",
            f"{data}/nx.pid",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        url = f"mongodb://127.0.0.1:{port}/?directConnection=true"
        if not wait_for_port("127.0.0.1", port, 30):
            raise RuntimeError(f"nx-27017 did not start; see {data}/server.log")
        pymongo.MongoClient(url, serverSelectionTimeoutMS=10000).admin.command("ping")
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        shutil.rmtree(data, ignore_errors=True)


def rabbitmq_url() -> str:
    url = os.environ.get("AMQP_URL", DEFAULT_AMQP_URL)
    import urllib.parse

    parts = urllib.parse.urlparse(node_urls(url)[0])  # several nodes: the first must answer
    host, port = parts.hostname or "127.0.0.1", parts.port or 5672
    if not wait_for_port(host, port, 5):
        raise RuntimeError(
            f"RabbitMQ does not answer at {host}:{port}. Start it with `rabbitmq-server -detached` "
            "(`make test` starts it, or installs it with apt when run as root), or set AMQP_URL."
        )
    return url
