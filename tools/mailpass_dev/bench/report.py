"""Figures and targets (printed by :mod:`mailpass_dev.bench.outputs`).

Each figure is the median of its runs; a ratio is the ratio of two medians. Targets are
those of a 2-core machine: a missed one prints FAIL but only fails the command with
``--strict``; lost messages (or a stack that failed) always do.
"""

from __future__ import annotations

from typing import Any

from mailpass_dev.bench.costs import cost_rows
from mailpass_dev.bench.figures import Row, Target, medians
from mailpass_dev.bench.figures import get as _get

__all__ = ["Row", "Target", "build_rows", "medians"]

STACK_MEMORY_LIMIT_MB = 150.0
# Processes measured for information only: shared infrastructure, not MailPass services.
INFRASTRUCTURE = ("nx-27017", "rabbitmq")
BATCH_PHASES = ("batch_empty", "batch_preloaded", "batch_mta")


def _ratio(a: float | None, b: float | None) -> float | None:
    return 100 * a / b if a is not None and b else None


def _times(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def _diff(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def _total(runs: dict[str, list[dict[str, Any]]], phases: tuple[str, ...], key: str) -> int | None:
    """A count summed over every run of the phases (losses add up; they are not medians)."""
    values = [run[key] for phase in phases for run in runs.get(phase, [])]
    return sum(values) if values else None


def build_rows(
    runs: dict[str, list[dict[str, Any]]],
    memory_mb: dict[str, float],
    *,
    clients: tuple[int, ...],
    preload: int,
    sessions: int | None,
) -> list[Row]:
    m = medians(runs)
    ref = _get(m, "reference", "rate")
    empty = _get(m, "batch_empty", "rate")
    loaded = _get(m, "batch_preloaded", "rate")
    mta = _get(m, "batch_mta", "rate")
    celery = _get(m, "celery", "rate")
    processes = _get(m, "celery", "processes")
    rows = [
        Row(
            "reference_rate", f"smtp-source -> smtp-sink ({sessions or '?'} sessions)", ref, "msg/s"
        ),
        Row("batch_empty_rate", "batch, empty database", empty, "msg/s", Target(">=", 1000)),
        Row("batch_vs_reference", "batch / smtp-source", _ratio(empty, ref), "%", Target(">=", 35)),
        Row("batch_mta_rate", "batch through MailPass SMTP (MX: smtp-sink)", mta, "msg/s"),
        Row(
            "mta_vs_batch",
            "MailPass SMTP / relay, batch",
            _ratio(mta, empty),
            "%",
            Target(">=", 80),
        ),
        Row(
            "mta_sessions_per_1000",
            "SMTP sessions opened per 1,000 messages, MailPass SMTP",
            _get(m, "batch_mta", "sessions_per_1000"),
            "",
        ),
        Row("batch_preloaded_rate", f"batch, {preload:,} older messages stored", loaded, "msg/s"),
        Row(
            "preloaded_vs_empty",
            "batch preloaded / empty",
            _ratio(loaded, empty),
            "%",
            Target(">=", 80),
        ),
        Row(
            "celery_rate",
            f"Celery peer: prefork x{processes or 0:.0f}, smtplib -> smtp-sink",
            celery,
            "msg/s",
        ),
        Row("batch_empty_vs_celery", "batch empty / Celery peer", _times(empty, celery), "x"),
        Row(
            "batch_preloaded_vs_celery",
            "batch preloaded / Celery peer",
            _times(loaded, celery),
            "x",
            Target(">=", 1.3),
        ),
        Row(
            "smtp_submit_rate",
            "SMTP submission x10: answered 250 (stored)",
            _get(m, "smtp_c10", "submit_rate"),
            "msg/s",
        ),
        Row(
            "smtp_delivered_rate",
            "SMTP submission x10: delivered",
            _get(m, "smtp_c10", "rate"),
            "msg/s",
        ),
        Row(
            "smtp_vs_batch",
            "SMTP submission delivered / batch",
            _ratio(_get(m, "smtp_c10", "rate"), empty),
            "%",
        ),
        Row(
            "smtp_lost",
            "SMTP messages missing at the timeout",
            _total(runs, ("smtp_c10",), "lost"),
            "",
            Target("<=", 0),
        ),
        Row(
            "batch_lost",
            "batch messages missing at the timeout",
            _total(runs, BATCH_PHASES, "lost"),
            "",
            Target("<=", 0),
        ),
        Row(
            "batch_duplicates",
            "batch messages received twice",
            _total(runs, BATCH_PHASES, "duplicates"),
            "",
            Target("<=", 0),
        ),
    ]
    for c in clients:
        send, direct = f"send_c{c}", f"direct_c{c}"
        p50, p99 = _get(m, send, "p50_ms"), _get(m, send, "p99_ms")
        rps = _get(m, send, "rps")
        rows += [
            Row(f"{send}_p50", f"/send x{c}: p50", p50, "ms"),
            Row(
                f"{send}_p99", f"/send x{c}: p99", p99, "ms", Target("<=", 250) if c == 50 else None
            ),
            Row(
                f"{send}_rps",
                f"/send x{c}: requests/s",
                rps,
                "req/s",
                Target(">=", 400) if c == 50 else None,
            ),
            Row(
                f"{send}_not_200",
                f"/send x{c}: answers not 200",
                _total(runs, (send,), "not_200"),
                "",
                Target("<=", 0),
            ),
            Row(f"{direct}_p50", f"direct aiosmtplib x{c}: p50", _get(m, direct, "p50_ms"), "ms"),
            Row(f"{direct}_p99", f"direct aiosmtplib x{c}: p99", _get(m, direct, "p99_ms"), "ms"),
            Row(
                f"{direct}_rate", f"direct aiosmtplib x{c}: msg/s", _get(m, direct, "rate"), "msg/s"
            ),
            Row(
                f"{send}_wrk_cpu",
                f"/send x{c}: wrk CPU (100 = 1 core)",
                _get(m, send, "wrk_cpu_percent"),
                "%",
            ),
        ]
        if c == 1:
            rows.append(
                Row(
                    f"{send}_p50_over_direct",
                    "/send x1: p50 above direct",
                    _diff(p50, _get(m, direct, "p50_ms")),
                    "ms",
                    Target("<=", 8),
                )
            )
    rows += cost_rows(m, clients)
    for label, mb in memory_mb.items():
        info = label.split("/")[0] in INFRASTRUCTURE
        target = None if info else Target("<", STACK_MEMORY_LIMIT_MB)
        rows.append(Row(f"peak_rss_{label}", f"peak RSS {label}", mb, "MB", target))
    return rows
