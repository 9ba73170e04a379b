"""The signed VERP return path: one envelope sender per message, that only MailPass makes.

A message delivered by MailPass's own MTA leaves with the envelope sender (``MAIL FROM``)

    ``b<token>@<MTA_RETURN_PATH_DOMAIN>``

where ``token`` is the unpadded, lower-case base32 of ``id (12 bytes) | time (4 bytes,
big endian) | tag (8 bytes)``: ``id`` and ``time`` are the two parts of the message id's
local part (``<24 hex>.<unix time>@domain``, :mod:`mailpass_common.messages.ids`), and ``tag`` is
HMAC-SHA256 over the whole message id (its domain included) under a key derived from
``SECRET_KEY`` for this purpose only (HKDF, ``mailpass/return-path``), truncated to 64 bits.
The local part is 40 characters, inside RFC 5321's 64, case-insensitive (some MTAs fold
case) and free of characters that need quoting.

``mailpass-inbound`` accepts mail only for addresses that parse here: :func:`parse` gives
the prefix of the message id (``<hex.time@``) to find the one stored message whose ``_id``
starts with it (a range on ``_id``, index-served), and :meth:`ReturnPath.signs` checks the
tag against that id. A forged or altered address never names a message; an address made
under a previous key (``SECRET_KEY_PREVIOUS``) still does, so bounces of mail sent before a
rotation are matched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
import struct
from collections.abc import Sequence
from dataclasses import dataclass

from mailpass_common.platform.crypto import derive_key

PREFIX = "b"
TAG_LENGTH = 8
_ID = struct.Struct(">12sI8s")
_MESSAGE_ID = re.compile(r"^<([0-9a-f]{24})\.([0-9]{1,10})@([^<>@\s]+)>$")
_TOKEN_LENGTH = 40  # unpadded base32 of 24 bytes (38.4 -> 39 characters) plus the prefix
_PURPOSE = "mailpass/return-path"


@dataclass(frozen=True)
class ReturnPath:
    """A return-path address that parsed: which message it may name, and its tag."""

    message_id_prefix: str
    tag: bytes

    def signs(self, message_id: str, keys: Sequence[bytes]) -> bool:
        """Whether ``message_id`` is the message this address was made for."""
        if not message_id.startswith(self.message_id_prefix):
            return False
        return any(hmac.compare_digest(_tag(key, message_id), self.tag) for key in keys)


def keys_from_secrets(current: str, previous: Sequence[str] = ()) -> list[bytes]:
    """The signing key first, then the previous ones (verification only)."""
    return [derive_key(secret, _PURPOSE) for secret in (current, *previous)]


def make(message_id: str, domain: str, key: bytes) -> str:
    """The envelope sender for ``message_id``; ValueError for an id not of MailPass's shape."""
    match = _MESSAGE_ID.match(message_id)
    if match is None:
        raise ValueError(f"not a MailPass message id: {message_id!r}")
    hex_id, when, _ = match.groups()
    packed = _ID.pack(bytes.fromhex(hex_id), int(when), _tag(key, message_id))
    token = base64.b32encode(packed).decode().rstrip("=").lower()
    return f"{PREFIX}{token}@{domain.lower()}"


def parse(address: str, domain: str) -> ReturnPath | None:
    """The return path in ``address`` if it is one of ours on ``domain``; None for anything
    else (never raises: the address comes from the internet)."""
    if not isinstance(address, str) or len(address) > 320:
        return None
    local, sep, at = address.strip().strip("<>").rpartition("@")
    if not sep or at.lower().rstrip(".") != domain.lower().rstrip("."):
        return None
    local = local.lower()
    if len(local) != _TOKEN_LENGTH or not local.startswith(PREFIX):
        return None
    token = local[len(PREFIX) :].upper()
    try:
        raw = base64.b32decode(token + "=" * (-len(token) % 8))
    except (binascii.Error, ValueError):
        return None
    # the last character carries 3 unused bits: only the canonical spelling is ours
    if len(raw) != _ID.size or base64.b32encode(raw).decode().rstrip("=") != token:
        return None
    hex_id, when, tag = _ID.unpack(raw)
    return ReturnPath(message_id_prefix=f"<{hex_id.hex()}.{when}@", tag=tag)


def _tag(key: bytes, message_id: str) -> bytes:
    return hmac.new(key, message_id.encode(), hashlib.sha256).digest()[:TAG_LENGTH]
