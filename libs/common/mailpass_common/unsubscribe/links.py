"""Signed unsubscribe links and the ``List-Unsubscribe`` headers (RFC 2369, RFC 8058).

A token is ``base64url(payload || tag)`` without padding, where ``payload = version
(1 byte) | len(account_id) (1 byte) | account_id | len(message_id) (2 bytes, big
endian) | message_id | recipient`` (UTF-8) and ``tag = HMAC-SHA256(key, payload)``
truncated to 16 bytes, as tracking tokens are (:mod:`mailpass_common.messages.signed_links`,
whose strict base64url it shares). The key is derived from ``SECRET_KEY`` for this
purpose only (HKDF, ``mailpass/unsubscribe-links``): a tracking token can never pass for
an unsubscribe token, nor the reverse, and a token verifies under the current key or any
of ``SECRET_KEY_PREVIOUS``, so links already in mailboxes survive a key rotation.

The token names the account, so the tracker suppresses the recipient at once, without
reading the message (which the retention policy may have deleted by then).
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote

from mailpass_common.messages.signed_links import _decode, _encode
from mailpass_common.platform.crypto import derive_key

TOKEN_VERSION = 1
TAG_LENGTH = 16
PURPOSE = "mailpass/unsubscribe-links"
MAX_ACCOUNT_ID_BYTES = 64
MAX_MESSAGE_ID_BYTES = 512
MAX_RECIPIENT_BYTES = 320
MAX_TOKEN_LENGTH = -(
    -(1 + 1 + MAX_ACCOUNT_ID_BYTES + 2 + MAX_MESSAGE_ID_BYTES + MAX_RECIPIENT_BYTES + TAG_LENGTH)
    * 4
    // 3
)
ONE_CLICK = "List-Unsubscribe=One-Click"
# "unsubscribe" in the path: click tracking leaves such links alone (the sender's
# link_rewriter), so a recipient's opt-out never goes through a redirect.
PATH = "/t/unsubscribe/"
_ID_LENGTH = struct.Struct(">H")


@dataclass(frozen=True)
class UnsubscribeLink:
    account_id: str
    message_id: str
    recipient: str


class UnsubscribeSigner:
    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        if not secret:
            raise ValueError("a secret is required to sign unsubscribe links")
        self._key = derive_key(secret, PURPOSE)
        self._keys = [self._key, *(derive_key(old, PURPOSE) for old in previous if old)]

    def _tag(self, payload: bytes, key: bytes) -> bytes:
        return hmac.new(key, payload, hashlib.sha256).digest()[:TAG_LENGTH]

    def token(self, link: UnsubscribeLink) -> str:
        account, message = link.account_id.encode(), link.message_id.encode()
        recipient = link.recipient.strip().lower().encode()
        if not 0 < len(account) <= MAX_ACCOUNT_ID_BYTES:
            raise ValueError("account id too long for an unsubscribe link")
        if not 0 < len(message) <= MAX_MESSAGE_ID_BYTES:
            raise ValueError("message id too long for an unsubscribe link")
        if not 0 < len(recipient) <= MAX_RECIPIENT_BYTES:
            raise ValueError("recipient too long for an unsubscribe link")
        payload = b"".join(
            [
                bytes([TOKEN_VERSION, len(account)]),
                account,
                _ID_LENGTH.pack(len(message)),
                message,
                recipient,
            ]
        )
        return _encode(payload + self._tag(payload, self._key))

    def url(self, base_url: str, link: UnsubscribeLink) -> str:
        return f"{base_url.rstrip('/')}{PATH}{self.token(link)}"

    def verify(self, token: object) -> UnsubscribeLink | None:
        """The link a token names, or None for anything this installation did not sign."""
        if not isinstance(token, str) or len(token) > MAX_TOKEN_LENGTH:
            return None
        raw = _decode(token)
        if raw is None or len(raw) < 2 + TAG_LENGTH:
            return None
        payload, tag = raw[:-TAG_LENGTH], raw[-TAG_LENGTH:]
        if not any(hmac.compare_digest(tag, self._tag(payload, key)) for key in self._keys):
            return None
        return _parse(payload)


def _parse(payload: bytes) -> UnsubscribeLink | None:
    if payload[0] != TOKEN_VERSION:
        return None
    account_end = 2 + payload[1]
    if len(payload) < account_end + _ID_LENGTH.size:
        return None
    (message_length,) = _ID_LENGTH.unpack_from(payload, account_end)
    message_end = account_end + _ID_LENGTH.size + message_length
    try:
        return UnsubscribeLink(
            account_id=payload[2:account_end].decode(),
            message_id=payload[account_end + _ID_LENGTH.size : message_end].decode(),
            recipient=payload[message_end:].decode(),
        )
    except UnicodeDecodeError:
        return None


@functools.lru_cache(maxsize=8)
def signer_for(secret: str, previous: tuple[str, ...] = ()) -> UnsubscribeSigner:
    """One signer per key set (deriving the keys is the costly part)."""
    return UnsubscribeSigner(secret, previous)


def list_unsubscribe(url: str, mailto: str | None = None, token: str = "") -> str:
    """The ``List-Unsubscribe`` value: the https link, then a mailto when one is
    configured (its subject carries the token, for whatever reads that mailbox)."""
    value = f"<{url}>"
    if mailto:
        value += f", <mailto:{mailto}?subject={quote('unsubscribe ' + token)}>"
    return value
