"""``bench.png``: throughput, latency, round trips and memory, each beside its target."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from mailpass_dev.bench.report import STACK_MEMORY_LIMIT_MB, Row


def _bars(ax: Axes, labels: list[str], values: list[float | None], color: str) -> None:
    heights = [v or 0.0 for v in values]
    bars = ax.bar(labels, heights, color=color)
    for bar, value in zip(bars, values, strict=True):
        text = "-" if value is None else f"{value:,.0f}" if value >= 100 else f"{value:.3g}"
        ax.annotate(
            text,
            (bar.get_x() + bar.get_width() / 2, bar.get_height()),
            ha="center",
            va="bottom",
            fontsize=8,
        )
    ax.tick_params(axis="x", labelsize=8, rotation=15)


def _target(ax: Axes, value: float, label: str) -> None:
    ax.axhline(value, color="crimson", linestyle="--", linewidth=1, label=label)
    ax.legend(fontsize=8, loc="best", framealpha=0.6)


def draw_chart(path: Path, rows: list[Row], clients: tuple[int, ...], title: str) -> None:
    by_key = {row.key: row.value for row in rows}
    fig, axes = plt.subplots(2, 2, figsize=(13, 8.5))
    fig.suptitle(title, fontsize=11)

    ax = axes[0][0]
    _bars(
        ax,
        ["smtp-source", "batch (empty)", "batch (preloaded)"],
        [
            by_key.get("reference_rate"),
            by_key.get("batch_empty_rate"),
            by_key.get("batch_preloaded_rate"),
        ],
        "steelblue",
    )
    ax.set_title("Batch throughput (msg/s)", fontsize=10)
    _target(ax, 1000, "target 1,000 msg/s")

    ax = axes[0][1]
    labels: list[str] = []
    values: list[float | None] = []
    for c in clients:
        for name, key in (("/send", f"send_c{c}"), ("direct", f"direct_c{c}")):
            labels += [f"{name} x{c} p50", f"{name} x{c} p99"]
            values += [by_key.get(f"{key}_p50"), by_key.get(f"{key}_p99")]
    _bars(ax, labels, values, "darkorange")
    ax.set_yscale("symlog", linthresh=1)
    ax.set_title("Latency (ms): /send vs direct aiosmtplib", fontsize=10)
    if 50 in clients:
        _target(ax, 250, "p99 target x50: 250 ms")

    ax = axes[1][0]
    keys = [
        "batch_empty_round_trips",
        "batch_preloaded_round_trips",
        *(f"send_c{c}_round_trips" for c in clients),
    ]
    _bars(
        ax,
        ["batch (empty)", "batch (preloaded)", *(f"/send x{c}" for c in clients)],
        [by_key.get(k) for k in keys],
        "seagreen",
    )
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_title("MongoDB round trips per delivered message", fontsize=10)
    ax.axhline(0.2, color="crimson", linestyle=":", linewidth=1, label="batch target 0.2")
    _target(ax, 4, "/send target 4")

    ax = axes[1][1]
    memory = [row for row in rows if row.key.startswith("peak_rss_")]
    _bars(
        ax,
        [row.label.removeprefix("peak RSS ") for row in memory],
        [row.value for row in memory],
        "slategray",
    )
    ax.set_title("Peak resident memory (MB)", fontsize=10)
    _target(ax, STACK_MEMORY_LIMIT_MB, f"service target {STACK_MEMORY_LIMIT_MB:.0f} MB")

    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
