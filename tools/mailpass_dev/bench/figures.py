"""A figure of the bench's table: its value, unit and target; medians of runs."""

from __future__ import annotations

import operator
from dataclasses import dataclass
from typing import Any

from mailpass_dev.bench.stats import median

_OPS = {">=": operator.ge, "<=": operator.le, "<": operator.lt}


@dataclass(frozen=True)
class Target:
    op: str
    threshold: float

    def met(self, value: float) -> bool:
        return bool(_OPS[self.op](value, self.threshold))


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    value: float | None
    unit: str
    target: Target | None = None

    @property
    def status(self) -> str:
        if self.target is None:
            return ""
        if self.value is None:
            return "n/a"
        return "PASS" if self.target.met(self.value) else "FAIL"

    def as_json(self) -> dict[str, Any]:
        target = None
        if self.target is not None:
            target = {"op": self.target.op, "value": self.target.threshold}
        return {
            "key": self.key,
            "label": self.label,
            "value": self.value,
            "unit": self.unit,
            "target": target,
            "status": self.status,
        }


Medians = dict[str, dict[str, float | None]]


def medians(runs: dict[str, list[dict[str, Any]]]) -> Medians:
    """The median of every numeric figure of every phase."""
    result: Medians = {}
    for phase, phase_runs in runs.items():
        keys = {
            k
            for run in phase_runs
            for k, v in run.items()
            if isinstance(v, int | float) and not isinstance(v, bool)
        }
        result[phase] = {
            k: median([run[k] for run in phase_runs if isinstance(run.get(k), int | float)])
            for k in sorted(keys)
        }
    return result


def get(m: Medians, phase: str, key: str) -> float | None:
    return m.get(phase, {}).get(key)
