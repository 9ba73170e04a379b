"""``python -m mailpass_dev.upgrade`` (``make upgrade``): run, print the checks, write the
report.

Exit status: 0 when every check passed; 1 when one failed (a message lost or failed, a
job dead-lettered, a direction of the formats never seen handled by the other release);
2 when the run itself failed (the previous release could not be prepared or started);
130 when interrupted (SIGINT or SIGTERM), after stopping everything it started.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import time

from mailpass_dev.upgrade.options import parse_options
from mailpass_dev.upgrade.runner import UpgradeResult, run_upgrade

_STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[upgrade {time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def summary(result: UpgradeResult) -> list[str]:
    lines = []
    if result.release:
        lines.append(
            f"from {result.release['ref']} = {result.release['commit'][:10]} "
            f"({result.release['subject'][:70]}) to this checkout"
        )
    for step in result.steps:
        lines.append(f"  {step['service']} replaced at {step['at']:.0f}s in {step['seconds']:.1f}s")
    for stretch in result.stretches:
        versions = " ".join(f"{k}={v}" for k, v in sorted(stretch.versions.items()))
        work = ", ".join(
            f"{s} sent {stretch.work(s)['sent']}"
            if s.startswith("sender-")
            else f"{s} delivered {stretch.work(s)['webhooks']} events"
            for s in sorted(stretch.done)
        )
        lines.append(f"  [{versions}] {work}")
    t = result.tally
    if t is not None:
        lines.append(
            f"accepted: {t.accepted:,} ({t.delivered:,} delivered, {t.failed} failed), "
            f"lost: {len(t.lost)}, delivered twice: {len(t.duplicates)}, "
            f"dead-lettered: {len(result.dead_letters)}"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    options.report.parent.mkdir(parents=True, exist_ok=True)
    try:
        result = asyncio.run(run_upgrade(options, log))
    except KeyboardInterrupt:
        print("upgrade run interrupted; the stack was stopped", file=sys.stderr)
        return 130
    options.report.write_text(json.dumps(result.as_json(), indent=2, default=str))
    for line in summary(result):
        print(line)
    checks = result.checks()
    for name, passed in checks.items():
        print(f"{'PASS' if passed else 'FAIL'}  {name}")
    print(f"report: {options.report}")
    if result.failure:
        print(f"upgrade run failed: {result.failure}", file=sys.stderr)
        return 2
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
