"""SMTP replies that end a transaction, raised by the checks and caught by the handler."""

from __future__ import annotations


class Refused(Exception):
    """``reply`` is the whole SMTP reply line, e.g. ``554 5.6.0 Malformed header line``;
    ``reason`` a short label for the metrics (a bounded set)."""

    def __init__(self, reply: str, reason: str) -> None:
        super().__init__(reply)
        self.reply = reply
        self.reason = reason


def malformed(detail: str) -> Refused:
    """RFC 3463 5.6.0: the content itself is unusable; sending it again will not help."""
    return Refused(f"554 5.6.0 Message refused: {detail}", "malformed")
