"""Several worker processes, one ``/metrics``: prometheus-client's multiprocess mode.

With ``PROMETHEUS_MULTIPROC_DIR`` set (the chart sets it for the gateway's workers), each
process writes its values to files there and the exposition aggregates every process's:
whichever worker answers a scrape answers for all of them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from prometheus_client.metrics import Gauge

from mailpass_common.metrics import exposition
from tests.support.metrics import Scrape

WORKER = """
import sys
from mailpass_common.metrics import MONGODB_COMMANDS
from mailpass_gateway.metrics import REQUEST_SECONDS, REQUESTS

count = int(sys.argv[1])
for _ in range(count):
    REQUESTS.labels("/api/v1/mail/send", "POST", "200").inc()
    REQUEST_SECONDS.labels("/api/v1/mail/send", "POST").observe(0.02)
MONGODB_COMMANDS.labels("insert").inc(count)
"""

# Every Gauge defined by a module the gateway loads, with its multiprocess mode.
GATEWAY_GAUGES = """
import json, sys
import mailpass_gateway.main
from prometheus_client.metrics import Gauge

scanned = sorted(name for name in sys.modules if name.startswith("mailpass_"))
gauges = [
    {"module": name, "metric": value._name, "mode": value._multiprocess_mode}
    for name in scanned
    for value in vars(sys.modules[name]).values()
    if isinstance(value, Gauge)
]
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
    # Summed series, not one per process.
    assert all("pid" not in labels for labels in scraped.series("mailpass_gateway_requests_total"))


def test_every_gauge_of_the_gateway_says_how_workers_combine(tmp_path: Path) -> None:
    """A Gauge in multiprocess mode defaults to one series per process id ("all"), which
    keeps dead workers' values and multiplies series: each must choose a mode (livesum
    for in-flight counts, max for timestamps...). Gauges fed by ``set_function`` cannot
    be shared at all, so a multi-worker service must not use them."""
    found = json.loads(_python(GATEWAY_GAUGES, tmp_path))

    assert {"mailpass_gateway.metrics", "mailpass_common.metrics"} <= set(found["scanned"])
    for gauge in found["gauges"]:
        assert gauge["mode"] in Gauge._MULTIPROC_MODES - {"all"}, gauge
