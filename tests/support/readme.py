"""The README as tests read it: its claims (windows, limits, lists) are checked against
the code, so prose cannot drift from what runs."""

from __future__ import annotations

import functools
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def readme_text() -> str:
    return (ROOT / "README.md").read_text(encoding="utf-8")
