"""A message's tags and metadata: the shapes every way in accepts (the API's ``tags`` and
``metadata``, SMTP submission's ``X-MailPass-Tags`` and ``X-MailPass-Metadata``).

Small and flat on purpose: they are stored on every message and shown, filtered and sent
with webhooks, so a tag is a short token and metadata a flat object of a few scalar
values MongoDB stores as they are (8-byte integers at most, finite numbers).
"""

from __future__ import annotations

import math
import re
from typing import Any

MAX_TAGS = 10
MAX_METADATA_KEYS = 20
MAX_METADATA_VALUE_CHARS = 512
TAG_PATTERN = re.compile(r"^[A-Za-z0-9_.:/-]{1,64}$")
METADATA_KEY_PATTERN = re.compile(r"^[^\x00-\x1f\x7f.$][^\x00-\x1f\x7f.]{0,63}$")
INT64 = (-(2**63), 2**63 - 1)


def tag(value: str) -> str:
    """One tag, or ``ValueError`` saying the rule."""
    if not TAG_PATTERN.match(value):
        raise ValueError("tags are 1-64 characters of letters, digits and _ . : / -")
    return value


def tags(values: list[str]) -> list[str]:
    if len(values) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return [tag(value) for value in values]


def _value_ok(item: object) -> bool:
    if isinstance(item, bool):
        return True
    if isinstance(item, int):
        return INT64[0] <= item <= INT64[1]  # MongoDB stores 8-byte integers at most
    if isinstance(item, float):
        return math.isfinite(item)
    return isinstance(item, str) and len(item) <= MAX_METADATA_VALUE_CHARS


def metadata(value: dict[str, Any]) -> dict[str, Any]:
    """A metadata object, or ``ValueError`` naming the key that breaks the rule."""
    if len(value) > MAX_METADATA_KEYS:
        raise ValueError(f"at most {MAX_METADATA_KEYS} keys")
    for key, item in value.items():
        if not METADATA_KEY_PATTERN.match(key):
            raise ValueError(
                f"key {key!r}: 1-64 characters, no '.', no control characters, no leading '$'"
            )
        if not _value_ok(item):
            raise ValueError(
                f"key {key!r}: values are strings (up to {MAX_METADATA_VALUE_CHARS} chars), "
                "64-bit integers, finite numbers or booleans"
            )
    return value
