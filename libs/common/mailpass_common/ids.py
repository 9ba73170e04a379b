"""Message identifiers: ``<random.unixtime@domain>``, as the Mail Send API returns them."""

from __future__ import annotations

import secrets
import time


def new_message_id(domain: str) -> str:
    return f"<{secrets.token_hex(12)}.{int(time.time())}@{domain}>"


def normalize_message_id(raw: str) -> str:
    """Accept an id with or without its angle brackets (clients often strip them)."""
    raw = raw.strip()
    if not raw.startswith("<"):
        raw = "<" + raw
    if not raw.endswith(">"):
        raw = raw + ">"
    return raw
