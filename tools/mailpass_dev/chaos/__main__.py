"""``python -m mailpass_dev.chaos`` (``make chaos``): run, print the figures, write the report.

Exit status: 0 when every check passed; 1 when one failed (a message lost, an idempotent
retry that made a second message, a duplicate no kill explains, ...); 2 when the stack
or the harness failed; 130 when interrupted (SIGINT or SIGTERM), after stopping
everything it started.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time
from datetime import UTC, datetime

from mailpass_dev.chaos.broker import close_open_brokers
from mailpass_dev.chaos.options import parse_options
from mailpass_dev.chaos.runner import ChaosResult, run_chaos

_STARTED = time.monotonic()
DUPLICATES_LISTED = 20


def log(message: str) -> None:
    print(f"[chaos {time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def summary(result: ChaosResult) -> list[str]:
    t = result.tally
    if t is None:
        return []
    kills = [f for f in result.faults if f.kind == "sender_kill"]
    lines = [
        f"accepted: {t.accepted:,} ({t.delivered:,} delivered, {t.failed:,} failed)",
        f"lost: {len(t.lost)}" + (f" {t.lost[:DUPLICATES_LISTED]}" if t.lost else ""),
        f"delivered more than once: {len(t.duplicates)} (at most {t.duplicate_bound} held by"
        f" the {len(kills)} killed senders; {t.unexplained_duplicates} unexplained)",
    ]
    for d in t.duplicates[:DUPLICATES_LISTED]:
        kill = d["kill"]
        why = (
            f"{kill['target']} killed at {kill['at']:.1f}s, {kill['after']:.2f}s after the"
            " first acceptance, the message still sending"
            if kill
            else "no kill explains it"
        )
        lines.append(f"  {d['message_id']} x{d['copies']}: {why}")
    if len(t.duplicates) > DUPLICATES_LISTED:
        lines.append(f"  ... {len(t.duplicates) - DUPLICATES_LISTED} more in the report")
    reasons = "; ".join(f"{n} {r}" for r, n in t.failed_by_reason.items()) or "none"
    lines += [
        f"failed, by reason: {reasons} (recipients the sink refuses: {t.expected_550})",
        f"idempotent retries that produced a second message: {len(t.idempotent_duplicates)}"
        f" ({result.load.cut_off} requests cut off, {result.load.retries} retries,"
        f" {result.load.replayed} replayed answers)",
        f"time to drain: {result.seconds.get('drain', 0):.1f}s after the load"
        f" ({result.seconds.get('load', 0):.0f}s); total {result.seconds.get('total', 0):.0f}s",
        f"orphans (stored, never named to the client): {len(t.orphans)}",
    ]
    faults = ", ".join(
        f"{f.kind} {f.target} at {f.at:.0f}s ({f.seconds_down:.1f}s down)"
        for f in result.faults
        if f.kind != "sender_kill"
    )
    lines.append(f"faults: {len(kills)} sender kills; {faults or 'no restarts'}")
    for f in result.faults:
        if f.kind == "broker_node_kill" and f.detail:
            d = f.detail
            lines.append(
                f"cluster node killed: {d['node']} (leading {len(d['led'])} queues, holding"
                f" {d['connections_on_it']} client connections); all back on survivors within"
                f" {d['reconnected_seconds']}s; started again after {d['seconds_down']}s, every"
                f" replica online {d['replicas_online_seconds_after_restart']}s later"
            )
    return lines


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    # SIGTERM (a `timeout`, a CI cancel) unwinds like Ctrl-C: everything is stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    options.report.parent.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    try:
        result = asyncio.run(run_chaos(options, log))
    except KeyboardInterrupt:
        print("chaos run interrupted; everything it started was stopped", file=sys.stderr)
        return 130
    finally:
        close_open_brokers()  # a node whose start was under way when the run was stopped
    for line in summary(result):
        print(line)
    checks = result.checks()
    for name, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
    document = {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        **result.as_json(),
    }
    options.report.write_text(json.dumps(document, indent=2, default=str) + "\n")
    print(f"report: {options.report}")
    if result.failure:
        print(f"chaos run failed: {result.failure}", file=sys.stderr)
        return 2
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
