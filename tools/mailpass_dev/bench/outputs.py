"""The bench's outputs: the table it prints and ``bench.json``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mailpass_dev.bench.report import Row


def _format(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit in ("msg/s", "req/s"):
        text = f"{value:,.0f}"
    elif unit in ("ms", "%", "MB"):
        text = f"{value:,.1f}"
    elif unit == "x":
        return f"{value:.2f}x"
    elif unit == "" and float(value).is_integer():
        text = f"{int(value):,}"
    else:
        text = f"{value:.3f}"
    return f"{text} {unit}".rstrip()


def render_table(rows: list[Row]) -> str:
    header = ("figure", "value", "target", "result")
    lines = [
        (
            r.label,
            _format(r.value, r.unit),
            f"{r.target.op} {_format(r.target.threshold, r.unit)}" if r.target else "",
            r.status,
        )
        for r in rows
    ]
    widths = [max(len(str(x[i])) for x in [header, *lines]) for i in range(4)]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("-+-".join("-" * w for w in widths))
    for line in lines:
        label, value, target, status = line
        out.append(
            " | ".join(
                (label.ljust(widths[0]), value.rjust(widths[1]), target.ljust(widths[2]), status)
            )
        )
    return "\n".join(out)


def write_json(path: Path, document: dict[str, Any]) -> None:
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
