"""The rolling upgrade's command line."""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mailpass_dev.stack import REPO_ROOT
from mailpass_dev.upgrade.release import default_ref

# Messages per second through send-batch and /send, and seconds between two steps of the roll.
FULL = {"batch_rate": 60.0, "send_rate": 8.0, "hold": 20.0}
# The version `make chaos` and the test run.
QUICK = {"batch_rate": 30.0, "send_rate": 4.0, "hold": 5.0}


@dataclass(frozen=True)
class UpgradeOptions:
    from_ref: str
    batch_rate: float  # messages a second through send-batch, from start to end of the roll
    send_rate: float  # messages a second through /send
    hold: float  # seconds the stack runs between two steps (each release's work is measured)
    seed: int = 1
    drain_timeout: float = 240.0
    report: Path = Path(".data/upgrade/upgrade.json")
    cache: Path = Path(".data/upgrade/releases")
    quick: bool = False

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["report"], data["cache"] = str(self.report), str(self.cache)
        return data


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mailpass_dev.upgrade",
        description="Run the previous release's stack on the shared RabbitMQ and a fresh "
        "MongoDB, replace its services one at a time with this checkout's while messages "
        "flow, and check that every message accepted by either release was delivered once, "
        "that each release handled the other's jobs and documents, and that nothing was "
        "dead-lettered. Exit 0 when every check passed, 1 when one failed, 2 when the run "
        "itself failed.",
    )
    p.add_argument(
        "--from",
        dest="from_ref",
        help="the previous release: a tag, a commit, HEAD~N (default: the last tag, else HEAD~10)",
    )
    p.add_argument(
        "--batch-rate",
        type=float,
        help=f"messages a second through send-batch ({FULL['batch_rate']:.0f})",
    )
    p.add_argument(
        "--send-rate", type=float, help=f"messages a second through /send ({FULL['send_rate']:.0f})"
    )
    p.add_argument(
        "--hold",
        type=float,
        help=f"seconds between two steps of the roll, before the first and after the last "
        f"({FULL['hold']:.0f})",
    )
    p.add_argument("--seed", type=int, default=1, help="the sink's deferrals (1)")
    p.add_argument(
        "--quick",
        action="store_true",
        help=f"{QUICK['batch_rate']:.0f} + {QUICK['send_rate']:.0f} messages a second, "
        f"{QUICK['hold']:.0f} s between steps",
    )
    p.add_argument("--report", type=Path, default=Path(".data/upgrade/upgrade.json"))
    p.add_argument(
        "--cache",
        type=Path,
        default=Path(".data/upgrade/releases"),
        help="where prepared releases are kept (one per commit, reused)",
    )
    return p


def parse_options(argv: list[str] | None = None) -> UpgradeOptions:
    args = parser().parse_args(argv)
    base = QUICK if args.quick else FULL
    return UpgradeOptions(
        from_ref=args.from_ref or default_ref(REPO_ROOT),
        batch_rate=float(args.batch_rate if args.batch_rate is not None else base["batch_rate"]),
        send_rate=float(args.send_rate if args.send_rate is not None else base["send_rate"]),
        hold=float(args.hold if args.hold is not None else base["hold"]),
        seed=args.seed,
        report=args.report,
        cache=args.cache,
        quick=args.quick,
    )
