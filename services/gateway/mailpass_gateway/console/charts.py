"""The overview's bar chart, drawn on the server as SVG geometry.

Bars are plain ``<rect>`` elements with positions and sizes as attributes (the console's
Content-Security-Policy allows no inline style), one stacked bar a bucket: sent, failed,
then what is still pending. The drawing stretches to the page's width, so the time
labels are HTML under it (text in a stretched drawing would stretch too), one for each
of a few equal groups of bars. Every bar has a ``<title>`` (its numbers), and the page
has the same numbers as a table, for screen readers and for reading exact values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from mailpass_common.messages.stats import WindowStats

WIDTH = 720
HEIGHT = 140
GAP = 0.25  # of a slot, between bars
SERIES = ("sent", "failed", "pending")


@dataclass(frozen=True)
class Segment:
    series: str
    y: float
    height: float


@dataclass(frozen=True)
class Bar:
    x: float
    width: float
    segments: list[Segment]
    title: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    baseline: float
    bars: list[Bar]
    ticks: list[str]  # labels of equal groups of bars, left to right
    peak: int
    summary: str


def _label(start: datetime, hourly: bool) -> str:
    return f"{start:%H:%M}" if hourly else f"{start:%b %d}"


def bar_chart(stats: WindowStats) -> Chart:
    hourly = stats.window == "24h"
    slot = WIDTH / len(stats.buckets)
    plot = HEIGHT
    peak = max((b.counts.accepted for b in stats.buckets), default=0)
    scale = plot / peak if peak else 0.0
    every = 4 if hourly else 1
    bars = []
    for index, bucket in enumerate(stats.buckets):
        counts = bucket.counts.as_dict()
        top = float(plot)
        segments = []
        for series in SERIES:
            height = counts[series] * scale
            if height > 0:
                top -= height
                segments.append(Segment(series, round(top, 2), round(height, 2)))
        title = (
            f"{_label(bucket.start, hourly)}: {counts['accepted']} accepted, "
            f"{counts['sent']} sent, {counts['failed']} failed, {counts['pending']} pending"
        )
        bars.append(
            Bar(
                x=round(index * slot + slot * GAP / 2, 2),
                width=round(slot * (1 - GAP), 2),
                segments=segments,
                title=title,
            )
        )
    totals = stats.totals
    summary = (
        f"{'Hourly' if hourly else 'Daily'} messages over the last "
        f"{'24 hours' if hourly else '7 days'}: {totals.accepted} accepted, {totals.sent} sent, "
        f"{totals.failed} failed, {totals.pending} pending; busiest "
        f"{'hour' if hourly else 'day'} {peak}."
    )
    ticks = [_label(b.start, hourly) for i, b in enumerate(stats.buckets) if i % every == 0]
    return Chart(WIDTH, HEIGHT, float(plot), bars, ticks, peak, summary)
