"""The chaos run's command line, and the settings it gives the stack.

The stack runs with the product's own settings, shortened so that a run's recoveries
happen within minutes instead of hours (every one is an operator setting documented in
the service's ``settings.py``):

- retries after 1, 2, 4, 8, 8 ... seconds instead of 30 s doubling to an hour;
- a claim's lease of 30 s (a killed sender's messages are claimable again 30 s later),
  SMTP timeouts below half of it, and an outcome's recording retried for 20 s;
- jobs prefetched per sender and queue: 4 (a batch job names up to 100 messages, all
  claimed when it arrives: the lease must outlast the wait behind them);
- the scheduler every second, republishing lost jobs after 20 s (``queued``), 35 s
  (``sending``, past the lease) and 40 s (``deferred``, past the longest retry delay);
- an Idempotency-Key left ``running`` by a request MongoDB failed under taken over
  after 45 s (above the 30 s ``/send`` timeout) instead of 5 minutes;
- a provider's circuit open for 2 s after 5 temporary failures in a row (with 20% of
  transactions failing, five in a row happen a few times in 10,000).
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

CHAOS_SETTINGS = {
    # One key sends everything as fast as it can: the per-key request limit is not tested here.
    "API_RATE_LIMIT": "0",
    "SENDER_RETRY_BASE_SECONDS": "1",
    "SENDER_RETRY_MAX_SECONDS": "8",
    "SENDER_LEASE_SECONDS": "30",
    "SENDER_RECORD_RETRY_SECONDS": "20",
    "SENDER_PREFETCH": "4",
    "SENDER_BATCH_PREFETCH": "4",
    "SMTP_TIMEOUT_SECONDS": "10",
    "CIRCUIT_OPEN_SECONDS": "2",
    "SCHEDULER_REPUBLISH_AFTER_SECONDS": "20",
    "SCHEDULER_STALE_SENDING_SECONDS": "35",
    "SCHEDULER_REPUBLISH_DEFERRED_AFTER_SECONDS": "40",
    "IDEMPOTENCY_STALE_SECONDS": "45",
    # The tenant's provider is the sink on a loopback port.
    "PROVIDER_ALLOWED_NETWORKS": "127.0.0.0/8",
    # nx-27017 has no TTL monitor: TTL indexes cost a scan per read (README).
    "MESSAGE_METADATA_RETENTION_DAYS": "0",
}

FULL = {"batch": 10_000, "send": 500, "duration": 150.0, "kills": None, "mongo_restarts": 1}
# `make test`: 1,000 messages, one sender killed, the broker restarted once.
QUICK = {"batch": 900, "send": 100, "duration": 20.0, "kills": 1, "mongo_restarts": 0}


@dataclass(frozen=True)
class ChaosOptions:
    batch: int
    send: int
    duration: float  # seconds the load is spread over; faults happen within it
    kills: int | None  # None: a kill every kill_every seconds while the load runs
    mongo_restarts: int
    senders: int = 2
    kill_every: float = 3.0
    broker_restarts: int = 1
    temp_fail: float = 0.2
    perm_fail: float = 0.01
    cut_every: int = 50
    seed: int = 1
    drain_timeout: float = 300.0
    batch_concurrency: int = 2
    send_concurrency: int = 8
    scheduler_interval: float = 1.0
    report: Path = Path(".data/chaos/chaos.json")
    quick: bool = False
    cluster: bool = False  # a three-node cluster; its broker fault is one node killed
    env: dict[str, str] = field(default_factory=dict)

    def stack_env(self, sink_port: int) -> dict[str, str]:
        return {
            **CHAOS_SETTINGS,
            "PROVIDER_ALLOWED_SMTP_PORTS": str(sink_port),
            **self.env,
        }

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["report"] = str(self.report)
        return data


def _env_pair(text: str) -> tuple[str, str]:
    key, sep, value = text.partition("=")
    if not sep or not key:
        raise argparse.ArgumentTypeError("expected KEY=VALUE")
    return key, value


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m mailpass_dev.chaos",
        description="Start the real stack with a RabbitMQ node (or, with --cluster, a three-node "
        "cluster) of its own and a failing SMTP "
        "sink, push messages through send-batch and /send while senders are killed, the "
        "broker and MongoDB restarted and requests cut off; check that nothing accepted was "
        "lost. Prints the figures and writes a JSON report.",
    )
    p.add_argument("--batch", type=int, help="messages through send-batch (10000)")
    p.add_argument("--send", type=int, help="messages through /send (500)")
    p.add_argument("--duration", type=float, help="seconds the load is spread over (150)")
    p.add_argument("--senders", type=int, default=2, help="sender processes (2)")
    p.add_argument(
        "--kill-every",
        type=float,
        default=3.0,
        help="seconds from a killed sender being ready again to the next kill (3)",
    )
    p.add_argument("--kills", type=int, help="most senders killed (default: no limit)")
    p.add_argument("--broker-restarts", type=int, default=1, help="RabbitMQ restarts (1)")
    p.add_argument("--mongo-restarts", type=int, help="MongoDB restarts (1; nx-27017 only)")
    p.add_argument("--temp-fail", type=float, default=0.2, help="451 share of transactions")
    p.add_argument("--perm-fail", type=float, default=0.01, help="550 share of recipients")
    p.add_argument("--cut-every", type=int, default=50, help="one request in N is cut off (50)")
    p.add_argument("--seed", type=int, default=1, help="seeds every failure decision (1)")
    p.add_argument("--drain-timeout", type=float, default=300.0, help="seconds to drain (300)")
    p.add_argument("--report", type=Path, default=Path(".data/chaos/chaos.json"))
    p.add_argument(
        "--quick", action="store_true", help="1,000 messages, one kill, one broker restart"
    )
    p.add_argument(
        "--cluster",
        action="store_true",
        help="a three-node RabbitMQ cluster of its own instead of one node (AMQP_URL naming "
        "the three); its broker fault is one node killed under load and started again",
    )
    p.add_argument(
        "--env",
        type=_env_pair,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra environment for every service (repeatable)",
    )
    return p


def parse_options(argv: list[str] | None = None) -> ChaosOptions:
    args = parser().parse_args(argv)
    base: dict[str, Any] = QUICK if args.quick else FULL
    picked = {
        name: getattr(args, name) if getattr(args, name) is not None else default
        for name, default in base.items()
    }
    return ChaosOptions(
        batch=int(picked["batch"]),
        send=int(picked["send"]),
        duration=float(picked["duration"]),
        kills=picked["kills"],
        mongo_restarts=int(picked["mongo_restarts"]),
        senders=args.senders,
        kill_every=args.kill_every,
        broker_restarts=args.broker_restarts,
        temp_fail=args.temp_fail,
        perm_fail=args.perm_fail,
        cut_every=args.cut_every,
        seed=args.seed,
        drain_timeout=args.drain_timeout,
        report=args.report,
        quick=args.quick,
        cluster=args.cluster,
        env=dict(args.env),
    )
