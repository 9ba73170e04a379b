"""Message identifiers: ``<random.unixtime@domain>``, as the Mail Send API returns them."""

from __future__ import annotations

import hashlib
import secrets
import time


def new_message_id(domain: str) -> str:
    return f"<{secrets.token_hex(12)}.{int(time.time())}@{domain}>"


def new_nonce() -> str:
    """The seed of a keyed request's message ids: random, and when it was drawn."""
    return f"{secrets.token_hex(12)}.{int(time.time())}"


def keyed_message_id(domain: str, nonce: str, index: int) -> str:
    """The id of the ``index``-th message of the request seeded by ``nonce``: the same on
    every run of that request (see :mod:`mailpass_common.messages.idempotency`), in the shape of
    :func:`new_message_id`, the nonce's time standing for the acceptance time."""
    digest = hashlib.sha256(f"{nonce}:{index}".encode()).hexdigest()[:24]
    _, _, drawn = nonce.rpartition(".")
    return f"<{digest}.{drawn if drawn.isdigit() else int(time.time())}@{domain}>"


def normalize_message_id(raw: str) -> str:
    """Accept an id with or without its angle brackets (clients often strip them)."""
    raw = raw.strip()
    if not raw.startswith("<"):
        raw = "<" + raw
    if not raw.endswith(">"):
        raw = raw + ">"
    return raw
