"""Several worker processes, one ``/metrics``: prometheus-client's multiprocess mode.

With ``PROMETHEUS_MULTIPROC_DIR`` set (the chart sets it for the gateway's workers), each
process writes its values to files there and the exposition aggregates every process's:
whichever worker answers a scrape answers for all of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.metrics import Gauge

from mailpass_common.platform.db import Database
from mailpass_common.platform.metrics import exposition
from tests.support.broker import publish
from tests.support.messages import insert_messages
from tests.support.metrics import Scrape, scrape
from tests.support.processes import BIN, process_env
from tests.support.services import free_port
from tests.support.smtp import SmtpServer
from tests.support.tenants import make_tenant

WORKER = """
import sys
from mailpass_common.platform.metrics import MONGODB_COMMANDS, MONGODB_INDEX_KEYS
from mailpass_gateway.metrics import REQUEST_SECONDS, REQUESTS

count = int(sys.argv[1])
for _ in range(count):
    REQUESTS.labels("/api/v1/mail/send", "POST", "200").inc()
    REQUEST_SECONDS.labels("/api/v1/mail/send", "POST").observe(0.02)
MONGODB_COMMANDS.labels("insert").inc(count)
MONGODB_INDEX_KEYS.labels("messages").inc(count * 5.5)
"""

# Every Gauge defined by a module a service loads, with its multiprocess mode.
SERVICE_GAUGES = """
import importlib, json, sys
from prometheus_client.metrics import Gauge

importlib.import_module(sys.argv[1])

scanned = sorted(name for name in sys.modules if name.startswith("mailpass_"))
gauges = {
    value._name: value._multiprocess_mode
    for name in scanned
    for value in vars(sys.modules[name]).values()
    if isinstance(value, Gauge)
}
print(json.dumps({"scanned": scanned, "gauges": gauges}))
"""


def _python(code: str, directory: Path, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        env={"PROMETHEUS_MULTIPROC_DIR": str(directory), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return done.stdout


def test_the_exposition_sums_the_counters_of_every_worker(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _python(WORKER, tmp_path, "3")
    _python(WORKER, tmp_path, "4")
    assert len(list(tmp_path.glob("counter_*.db"))) == 2  # one file per process

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path))
    body, content_type = exposition()
    scraped = Scrape.parse(body.decode())

    assert content_type.startswith("text/plain")
    route = {"route": "/api/v1/mail/send", "method": "POST"}
    assert scraped.value("mailpass_gateway_requests_total", **route, status="200") == 7
    assert scraped.value("mailpass_gateway_request_duration_seconds_count", **route) == 7
    assert scraped.value("mailpass_gateway_request_duration_seconds_sum", **route) == (
        pytest.approx(0.14)
    )
    assert scraped.value("mailpass_mongodb_commands_total", command="insert") == 7
    keys = scraped.value("mailpass_mongodb_index_keys_written_total", collection="messages")
    assert keys == pytest.approx(7 * 5.5)
    # Summed series, not one per process.
    assert all("pid" not in labels for labels in scraped.series("mailpass_gateway_requests_total"))


@pytest.mark.parametrize(
    ("main", "metrics", "gauges"),
    [
        ("mailpass_gateway.main", "mailpass_gateway.metrics", 0),
        ("mailpass_sender.main", "mailpass_sender.metrics", 4),
    ],
)
def test_every_gauge_of_a_service_with_workers_says_how_they_combine(
    tmp_path: Path, main: str, metrics: str, gauges: int
) -> None:
    """A Gauge in multiprocess mode defaults to one series per process id ("all"), which
    keeps dead workers' values and multiplies series: each must choose a mode (livesum
    for in-flight counts, livemax for flags...). Gauges fed by ``set_function`` cannot
    be shared at all (see the sender's ``_set_gauges``)."""
    found = json.loads(_python(SERVICE_GAUGES, tmp_path, main))

    assert {metrics, "mailpass_common.platform.metrics"} <= set(found["scanned"])
    assert len(found["gauges"]) == gauges
    for gauge, mode in found["gauges"].items():
        assert mode in Gauge._MULTIPROC_MODES - {"all"}, gauge


async def test_sender_workers_answer_for_each_other_gauges_included(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    """The real ``mailpass-sender`` in two worker processes: deliveries counted by both
    add up, and the live gauges (in flight, open SMTP connections) are there once, summed
    over the live workers, whichever worker answers the scrape."""
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    assert tenant.provider is not None
    docs = await insert_messages(db, tenant.account_id, tenant.provider["_id"], 12)
    management = free_port()
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "mailpass-sender"),
        env=process_env(service_env, management_port=management, sender_workers=2),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _until_ready(f"http://127.0.0.1:{management}/readyz", proc)
        await publish(service_env, docs)
        await smtp.wait_for(len(docs), timeout=30)
        url = f"http://127.0.0.1:{management}"
        # Recorded and acked after the SMTP server has them; each worker's own value is
        # refreshed every second for the others to read.
        for _ in range(100):
            if (await scrape(url)).value("mailpass_sender_in_flight") == 0:
                break
            await asyncio.sleep(0.1)
        await asyncio.sleep(1.2)
        scrapes = [await scrape(url) for _ in range(10)]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0

    for scraped in scrapes:
        labels = {"provider_type": "smtp", "outcome": "sent"}
        assert scraped.value("mailpass_sender_deliveries_total", **labels) == len(docs)
        assert scraped.series("mailpass_sender_in_flight") == [{}]  # one series, no pid
        assert scraped.value("mailpass_sender_in_flight") == 0
        assert scraped.series("mailpass_sender_smtp_connections_open") == [{}]
        assert scraped.value("mailpass_sender_smtp_connections_open") >= 1


async def _until_ready(url: str, proc: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            assert proc.returncode is None, f"the sender exited with {proc.returncode}"
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered")
