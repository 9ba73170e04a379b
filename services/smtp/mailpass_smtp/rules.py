"""Tags and metadata: the API's rules (to move into the library with the acceptance flow)."""

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


def tag_rules(tags: list[str]) -> list[str]:
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    for tag in tags:
        if not TAG_PATTERN.match(tag):
            raise ValueError("tags are 1-64 characters of letters, digits and _ . : / -")
    return tags


def _value_ok(item: object) -> bool:
    if isinstance(item, bool):
        return True
    if isinstance(item, int):
        return INT64[0] <= item <= INT64[1]
    if isinstance(item, float):
        return math.isfinite(item)
    return isinstance(item, str) and len(item) <= MAX_METADATA_VALUE_CHARS


def metadata_rules(value: dict[str, Any]) -> dict[str, Any]:
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
