"""The bench's command line."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# --quick: a smoke run that shows every figure in a minute or two, not a measurement.
QUICK = {"messages": 300, "preload": 2000, "runs": 1, "duration": 3.0, "warmup": 1.0}
DEFAULTS = {"messages": 10_000, "preload": 100_000, "runs": 3, "duration": 10.0, "warmup": 3.0}
# The scale-out bench's batch runs: long enough for a few seconds of sending each.
SCALE_OUT_MESSAGES = {"quick": 2000, "full": 10_000}


@dataclass(frozen=True)
class BenchOptions:
    messages: int
    preload: int
    runs: int
    clients: tuple[int, ...]
    duration: float
    warmup: float
    senders: int
    env: dict[str, str] = field(default_factory=dict)
    # Scale-out: the batch phase once per sender count, with ``gateways`` gateways
    # (``--senders 1,2,4`` or ``--gateways N``); empty: the whole bench with ``senders``.
    scale_out: tuple[int, ...] = ()
    gateways: int = 1
    limits: bool = False
    quick: bool = False
    batch_only: bool = False
    send_only: bool = False
    strict: bool = False
    # The Celery peer (a prefork pool on the same broker, smtplib to the same sink).
    celery: bool = True
    out: Path = Path(".data/bench")
    message_bytes: int = 2048
    batch_size: int = 100
    batch_concurrency: int = 4
    batch_timeout: float = 600.0
    scheduler_interval: float = 0.5

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["out"] = str(self.out)
        data["clients"] = list(self.clients)
        data["scale_out"] = list(self.scale_out)
        return data


def _counts(what: str) -> Callable[[str], tuple[int, ...]]:
    def parse(text: str) -> tuple[int, ...]:
        try:
            values = tuple(int(part) for part in text.split(",") if part.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"a comma-separated list of {what} counts") from None
        if not values or min(values) < 1:
            raise argparse.ArgumentTypeError(f"{what} counts are positive integers")
        return values

    return parse


_clients = _counts("client")


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected KEY=VALUE")
    return key, value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mailpass_dev.bench",
        description="Start the real stack and a Postfix smtp-sink, measure batch and /send "
        "throughput, latency, MongoDB round trips and memory; print a table, write "
        "bench.json and bench.png.",
    )
    p.add_argument("--messages", type=int, help="batch messages per run (10000)")
    p.add_argument(
        "--preload", type=int, help="older messages stored before the second batch phase (100000)"
    )
    p.add_argument("--runs", type=int, help="runs per figure; each figure is their median (3)")
    p.add_argument("--clients", type=_clients, default=(1, 50), help="/send client counts (1,50)")
    p.add_argument("--duration", type=float, help="seconds per /send and direct run (10)")
    p.add_argument(
        "--warmup", type=float, help="unmeasured /send seconds before each client count (3)"
    )
    p.add_argument(
        "--senders",
        type=_counts("sender"),
        default=(1,),
        help="sender processes (1); a list (1,2,4) runs the scale-out bench: the batch phase "
        "once per count, msg/s per sender replica and messages per sender",
    )
    p.add_argument(
        "--gateways",
        type=int,
        default=1,
        help="gateway processes the batch requests are spread over (1); above 1, the "
        "scale-out bench",
    )
    p.add_argument(
        "--env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for every service (repeatable)",
    )
    p.add_argument(
        "--limits",
        action="store_true",
        help="give the provider generous hourly/daily limits (measures the limit path)",
    )
    p.add_argument("--message-bytes", type=int, default=2048, help="message body size (2048)")
    p.add_argument(
        "--batch-timeout",
        type=float,
        default=600.0,
        help="seconds a batch run may take before its missing messages count as lost",
    )
    p.add_argument(
        "--scheduler-interval", type=float, default=0.5, help="scheduler loop pause (0.5)"
    )
    p.add_argument(
        "--quick",
        action="store_true",
        help="smoke run: 300 messages, 2000 preloaded, 1 run, 3 s per /send run",
    )
    only = p.add_mutually_exclusive_group()
    only.add_argument(
        "--batch-only",
        action="store_true",
        help="only the relay and MailPass SMTP batch runs, which compare (for iterating)",
    )
    only.add_argument(
        "--send-only",
        action="store_true",
        help="only the /send and direct SMTP runs (no batch, Celery, MTA or submission "
        "phase; for iterating on the request path)",
    )
    p.add_argument(
        "--no-celery",
        dest="celery",
        action="store_false",
        help="skip the Celery peer (a prefork worker pool sending each mail with smtplib)",
    )
    p.add_argument("--strict", action="store_true", help="exit non-zero when a target is missed")
    p.add_argument("--out", type=Path, default=Path(".data/bench"), help="output directory")
    return p


def parse_options(argv: list[str] | None = None) -> BenchOptions:
    args = parser().parse_args(argv)
    base = dict(QUICK if args.quick else DEFAULTS)
    if len(args.senders) > 1 or args.gateways > 1:
        base["messages"] = SCALE_OUT_MESSAGES["quick" if args.quick else "full"]
    picked = {
        name: getattr(args, name) if getattr(args, name) is not None else default
        for name, default in base.items()
    }
    return BenchOptions(
        messages=int(picked["messages"]),
        preload=int(picked["preload"]),
        runs=int(picked["runs"]),
        clients=args.clients,
        duration=float(picked["duration"]),
        warmup=float(picked["warmup"]),
        senders=args.senders[0],
        scale_out=args.senders if len(args.senders) > 1 or args.gateways > 1 else (),
        gateways=args.gateways,
        env=dict(args.env),
        limits=args.limits,
        quick=args.quick,
        batch_only=args.batch_only,
        send_only=args.send_only,
        strict=args.strict,
        celery=args.celery,
        out=args.out,
        message_bytes=args.message_bytes,
        batch_timeout=args.batch_timeout,
        scheduler_interval=args.scheduler_interval,
    )
