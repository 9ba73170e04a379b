"""Signed open and click tracking tokens, verified without a database lookup.

A token is ``base64url(payload || tag)`` without padding, where

- ``payload = version (1 byte) | kind (1 byte) | len(message_id) (2 bytes, big endian)
  | message_id (UTF-8) [| link_index (4 bytes) | target (UTF-8, the rest)]``, the part in
  brackets only for clicks;
- ``tag = HMAC-SHA256(key, payload)`` truncated to 16 bytes.

The kind byte sits inside the authenticated payload, so an open token can never be
replayed as a click token (or the reverse); the version byte lets a future format or key
rotation be told apart from the current one. The key is derived from ``SECRET_KEY`` for
this purpose only (HKDF, ``mailpass/tracking-links``), so a leaked tracking key reveals
nothing about the credential-encryption key. Tokens are signed with the current key and
verified with it or any previous one (``SECRET_KEY_PREVIOUS``), so links already in
mailboxes keep working through a rotation, for as long as the old key stays listed.

Why a 128-bit tag: a forger can only test guesses online, one HTTP request each, so
even 64 bits would be out of reach (NIST SP 800-107 allows truncated HMAC tags); 128 bits
leaves a wide margin against any future offline angle and still saves 22 characters per
link compared with the full 32 bytes (Gmail clips messages above ~102 KB, and a message
can carry dozens of links).

:meth:`TrackingSigner.verify` returns ``None`` for anything that is not a token this key
signed; it never raises, and rejects oversized input before decoding it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import string
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

from mailpass_common.platform.crypto import derive_key

TOKEN_VERSION = 1
_KIND_OPEN = 1
_KIND_CLICK = 2
TAG_LENGTH = 16

MAX_MESSAGE_ID_BYTES = 512
# Browsers cope with far longer URLs, but a link this long in an email is almost surely a
# mistake, and the cap keeps every token (hence every request the tracker parses) small.
MAX_TARGET_BYTES = 4096

_HEADER = struct.Struct(">BBH")
_LINK_INDEX = struct.Struct(">I")
_MAX_PAYLOAD = _HEADER.size + MAX_MESSAGE_ID_BYTES + _LINK_INDEX.size + MAX_TARGET_BYTES
# Length of the base64url (unpadded) text of the largest possible token.
MAX_TOKEN_LENGTH = -(-(_MAX_PAYLOAD + TAG_LENGTH) * 4 // 3)
_TOKEN_ALPHABET = frozenset(string.ascii_letters + string.digits + "-_")


@dataclass(frozen=True)
class TrackedOpen:
    message_id: str


@dataclass(frozen=True)
class TrackedClick:
    message_id: str
    link_index: int
    target: str


# What a browser percent-encodes in each part of a URL it follows (WHATWG URL, "percent-
# encode sets"), beyond the controls refused earlier and every non-ASCII character.
_FRAGMENT_ENCODE = frozenset(' "<>`')
_QUERY_ENCODE = frozenset(" \"#<>'")
_PATH_ENCODE = _FRAGMENT_ENCODE | frozenset("#?^{}")
_USERINFO_ENCODE = _PATH_ENCODE | frozenset("/:;=@[\\]|")


def _percent_encoded(text: str, encode: frozenset[str]) -> str:
    if text.isascii() and encode.isdisjoint(text):
        return text
    return "".join(
        "".join(f"%{byte:02X}" for byte in char.encode())
        if char in encode or ord(char) > 0x7E
        else char
        for char in text
    )


def normalize_target(target: str) -> str:
    """The URL a browser goes to when it follows ``target``, in ASCII: the host in IDNA
    form (``https://例え.jp/`` → ``https://xn--r8jz45g.jp/``), and the path, query and
    fragment percent-encoded as UTF-8 where a browser would encode them (``/パス`` →
    ``/%E3%83%91%E3%82%B9``; ``%`` itself is kept, so nothing is encoded twice). An ASCII
    host keeps its case. The result can go into a ``Location`` header as it is.

    Raises ``ValueError`` for a host IDNA cannot encode.
    """
    scheme, separator, rest = target.partition("://")
    if not separator:
        return target  # not absolute: validate_target refuses it
    authority_end = next((i for i, c in enumerate(rest) if c in "/?#"), len(rest))
    authority, rest = rest[:authority_end], rest[authority_end:]
    userinfo, at, hostport = authority.rpartition("@")
    host, port = hostport, ""
    if not hostport.startswith("[") and ":" in hostport:
        host, _, port = hostport.rpartition(":")
        port = ":" + port
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError as exc:
            raise ValueError(f"tracking target host cannot be encoded with IDNA: {exc}") from exc
    rest, hash_sign, fragment = rest.partition("#")
    path, question, query = rest.partition("?")
    return "".join(
        [
            scheme,
            "://",
            ":".join(_percent_encoded(part, _USERINFO_ENCODE) for part in userinfo.split(":", 1))
            + at,
            host,
            _percent_encoded(port, _PATH_ENCODE),
            _percent_encoded(path, _PATH_ENCODE),
            question + _percent_encoded(query, _QUERY_ENCODE),
            hash_sign + _percent_encoded(fragment, _FRAGMENT_ENCODE),
        ]
    )


def validate_target(target: str) -> None:
    """Refuse anything but an absolute http(s) URL without control characters.

    Control characters (CR, LF above all) are refused so that a signed target can be put
    in a ``Location`` header as it is.
    """
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        raise ValueError("tracking target must not contain control characters")
    if len(target.encode()) > MAX_TARGET_BYTES:
        raise ValueError(f"tracking target is longer than {MAX_TARGET_BYTES} bytes")
    parts = urlsplit(target)  # raises ValueError on a malformed host, e.g. "http://[::1"
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("tracking target must be an absolute http or https URL")


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(token: str) -> bytes | None:
    """Strict base64url: only the alphabet, no padding, canonical trailing bits.

    The lenient stdlib decoder skips foreign characters and ignores unused trailing bits,
    which would let many different strings verify as the same token.
    """
    if not token or len(token) % 4 == 1 or not _TOKEN_ALPHABET.issuperset(token):
        return None
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    return raw if _encode(raw) == token else None


class TrackingSigner:
    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        if not secret:
            raise ValueError("a tracking secret is required")
        self._key = derive_key(secret, "mailpass/tracking-links")
        # Every key a token may carry a tag of: the current one first (the common case).
        self._verifying_keys = [
            self._key,
            *(derive_key(old, "mailpass/tracking-links") for old in previous if old),
        ]

    def _tag(self, payload: bytes, key: bytes | None = None) -> bytes:
        return hmac.new(key or self._key, payload, hashlib.sha256).digest()[:TAG_LENGTH]

    def _seal(self, payload: bytes) -> str:
        return _encode(payload + self._tag(payload))

    @staticmethod
    def _header(kind: int, message_id: str) -> bytes:
        encoded = message_id.encode()
        if not encoded or len(encoded) > MAX_MESSAGE_ID_BYTES:
            raise ValueError(f"message id must be 1 to {MAX_MESSAGE_ID_BYTES} bytes long")
        return _HEADER.pack(TOKEN_VERSION, kind, len(encoded)) + encoded

    def open_token(self, message_id: str) -> str:
        return self._seal(self._header(_KIND_OPEN, message_id))

    def click_token(self, message_id: str, link_index: int, target: str) -> str:
        """A token for ``target`` as :func:`normalize_target` writes it (the one the
        redirect goes to, whatever the characters of the link as written)."""
        if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
            validate_target(target)  # refused before anything is encoded
        target = normalize_target(target)
        validate_target(target)
        if not 0 <= link_index <= 0xFFFFFFFF:
            raise ValueError("link index must fit in 32 bits")
        payload = (
            self._header(_KIND_CLICK, message_id) + _LINK_INDEX.pack(link_index) + target.encode()
        )
        return self._seal(payload)

    def open_url(self, base_url: str, message_id: str) -> str:
        return f"{base_url.rstrip('/')}/t/o/{self.open_token(message_id)}"

    def click_url(self, base_url: str, message_id: str, index: int, target: str) -> str:
        return f"{base_url.rstrip('/')}/t/c/{self.click_token(message_id, index, target)}"

    def verify(self, token: str) -> TrackedOpen | TrackedClick | None:
        # The type check guards callers that pass whatever arrived on the wire.
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            return None
        raw = _decode(token)
        if raw is None or len(raw) < _HEADER.size + TAG_LENGTH:
            return None
        payload, tag = raw[:-TAG_LENGTH], raw[-TAG_LENGTH:]
        if not any(hmac.compare_digest(tag, self._tag(payload, k)) for k in self._verifying_keys):
            return None
        # Past this point the payload is ours; the checks below only guard against a
        # future format signed with the same key.
        return _parse(payload)


def _parse(payload: bytes) -> TrackedOpen | TrackedClick | None:
    version, kind, id_length = _HEADER.unpack_from(payload)
    if version != TOKEN_VERSION:
        return None
    id_end = _HEADER.size + id_length
    try:
        message_id = payload[_HEADER.size : id_end].decode()
        if kind == _KIND_OPEN and len(payload) == id_end:
            return TrackedOpen(message_id)
        if kind == _KIND_CLICK and len(payload) > id_end + _LINK_INDEX.size:
            (link_index,) = _LINK_INDEX.unpack_from(payload, id_end)
            target = payload[id_end + _LINK_INDEX.size :].decode()
            return TrackedClick(message_id, link_index, target)
    except UnicodeDecodeError:
        return None
    return None
