"""Secrets never reach the audit log: values under secret-looking names are replaced.

The audited states are the resources' own views (which already leave secrets out); this
is the second line: any field whose name says it holds a credential, at any depth, is
written as ``"[redacted]"`` (or absent when it had no value), so a view that grows a
secret field later does not leak it into an append-only log.
"""

from __future__ import annotations

from typing import Any

REDACTED = "[redacted]"

# Lower-case fragments of field names that hold credentials: provider passwords and API
# tokens, API key hashes, webhook signing secrets, DKIM private keys, TOTP seeds.
_SECRET_FRAGMENTS = (
    "password",
    "secret",
    "private",
    "token",
    "hash",
    "credential",
    "totp",
    "api_key",
    "apikey",
    "access_key",
)


def is_secret_name(name: str) -> bool:
    lowered = name.lower()
    return any(fragment in lowered for fragment in _SECRET_FRAGMENTS)


def redact(value: Any) -> Any:
    """``value`` with every secret-named field's value replaced (mappings and lists, at any
    depth); other values are kept as they are."""
    if isinstance(value, dict):
        return {
            str(k): (REDACTED if v not in (None, "") else v)
            if is_secret_name(str(k))
            else redact(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value
