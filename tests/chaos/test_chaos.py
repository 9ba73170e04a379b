"""``make chaos`` in small: 1,000 messages, one sender killed, the broker restarted once.

The harness runs as ``make chaos`` does (``python -m mailpass_dev.chaos --quick``): the
real stack with a RabbitMQ node of its own, a sink failing 20% of transactions and 1% of
recipients, one request in fifty cut off and retried. Its JSON report must show nothing
lost, no idempotent retry that made a second message, and figures that add up.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

RUN_TIMEOUT_SECONDS = 420
STOP_GRACE_SECONDS = 90


def _run_chaos(report: Path) -> tuple[int, str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "mailpass_dev.chaos", "--quick", "--report", str(report)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        out, _ = process.communicate(timeout=RUN_TIMEOUT_SECONDS)
    finally:
        if process.poll() is None:
            # Interrupted or too slow: SIGTERM lets the harness stop its broker node,
            # the stack and the sink before it exits.
            process.send_signal(signal.SIGTERM)
            try:
                process.communicate(timeout=STOP_GRACE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.communicate()
    return process.returncode, out


def test_nothing_accepted_is_lost_under_chaos(tmp_path: Path) -> None:
    report_path = tmp_path / "chaos.json"
    code, out = _run_chaos(report_path)
    print(out)
    assert report_path.exists(), out
    report: dict[str, Any] = json.loads(report_path.read_text())
    assert report["failure"] is None, report["failure"]
    figures, load = report["figures"], report["load"]

    assert figures["lost"] == 0, figures["lost_ids"]
    assert figures["idempotent_duplicates"] == 0, figures["idempotent_duplicate_requests"]
    assert code == 0, out

    # What was pushed and done to the stack.
    assert figures["accepted"] == 1000
    kinds = [fault["kind"] for fault in report["faults"]]
    assert kinds.count("sender_kill") == 1
    assert kinds.count("broker_restart") == 1
    assert all(fault["error"] is None for fault in report["faults"])
    assert load["cut_off"] == load["requests"] // 50 > 0
    assert load["retries"] >= load["cut_off"] and not load["given_up"]

    # The figures add up: every accepted message delivered or failed, never both unless a
    # kill delivered it first; failures are exactly the recipients the sink refuses.
    both = len(figures["delivered_and_recorded_failed"])
    assert figures["delivered"] + figures["failed"] - both == figures["accepted"]
    refused = sum(n for r, n in figures["failed_by_reason"].items() if r.startswith("550"))
    assert refused == figures["expected_permanent_failures"] > 0
    assert figures["delivered_more_than_once"] <= figures["duplicate_bound_in_flight_at_kills"]
    assert figures["unexplained_duplicates"] == 0
    copies = sum(d["copies"] - 1 for d in figures["duplicates"])
    assert report["sink_replies"]["250"] == figures["delivered"] + copies
    assert report["sink_replies"]["451"] > 0
    assert all(report["checks"].values()), report["checks"]
