"""Format versions of what one release writes and another reads.

A rolling upgrade runs the previous release and the new one side by side on one broker
and one database (``make upgrade`` proves it), so every job on a queue and every message
document says which format it is in: a field ``v``. Absent, it is format 1, the shape
written before the field existed (the same fields, which is why the first versioned
writers write ``v: 1``: the previous release reads them as they are).

The rule for a change of format: bump the version where it is defined (``JOB_FORMAT``,
``DELIVERY_JOB_FORMAT``, ``MESSAGE_FORMAT``), and keep reading the version before, so a
release reads what the one before it wrote. A reader that meets a version newer than its
own never guesses: a job is dead-lettered with the reason (``mailpass dlq list`` shows it,
``replay`` once the upgrade is done), a message is deferred with it and retried, so a newer
process takes it over; nothing is misprocessed and nothing is lost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

FORMAT_FIELD = "v"
# What a document or job without ``FORMAT_FIELD`` is in.
UNVERSIONED = 1


class UnsupportedFormat(ValueError):
    """Written in a format newer than this release reads (by a newer release, mid-upgrade)."""

    code = "UNSUPPORTED_FORMAT"

    def __init__(self, what: str, version: int, current: int) -> None:
        self.version = version
        self.current = current
        super().__init__(
            f"{what} format v{version} is newer than this release reads "
            f"(v{max(UNVERSIONED, current - 1)} to v{current}): left for a newer release"
        )


def format_version(data: Mapping[str, Any], current: int, *, what: str) -> int:
    """The format ``data`` is in, when this release reads it (``current`` and the one
    before); :class:`UnsupportedFormat` when it is newer, ``ValueError`` when it is not a
    version at all or older than the previous one."""
    raw = data.get(FORMAT_FIELD, UNVERSIONED)
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise ValueError(f"{what} format version must be an integer, not {raw!r}")
    if raw > current:
        raise UnsupportedFormat(what, raw, current)
    if raw < max(UNVERSIONED, current - 1):
        raise ValueError(f"{what} format v{raw} is older than this release reads")
    return raw
