"""API keys (stored only as hashes) and encryption of provider credentials at rest.

API keys carry 190 bits of randomness, so a plain SHA-256 is the right hash: it is not
guessable, and a lookup by hash is one indexed read per request (a slow password hash
would only add latency). Provider credentials are encrypted with Fernet under a key
derived from ``SECRET_KEY``; other purposes (tracking links) derive keys of their own.
Keys being rotated out (``SECRET_KEY_PREVIOUS``) still decrypt, never encrypt.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import string
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

LIVE_PREFIX = "mp_live_"
TEST_PREFIX = "mp_test_"
_ALPHABET = string.ascii_letters + string.digits
_KEY_LENGTH = 32


class Permission(StrEnum):
    """What an API key may do: the one list of permission names."""

    MAIL = "mail"  # send, and read the status of its account's messages
    PROVIDERS = "providers"  # manage the account's providers
    KEYS = "keys"  # manage the account's API keys (never beyond its own permissions)
    # Sign in to the web console; there it acts within the key's other permissions.
    CONSOLE = "console"
    WEBHOOKS = "webhooks"  # manage the account's webhook endpoints, see and replay attempts
    TEMPLATES = "templates"  # create, change and delete templates (sending with one: mail)


@dataclass(frozen=True)
class NewApiKey:
    key: str  # shown once, never stored
    key_hash: str
    display_prefix: str


def generate_api_key(*, test: bool = False) -> NewApiKey:
    body = "".join(secrets.choice(_ALPHABET) for _ in range(_KEY_LENGTH))
    key = (TEST_PREFIX if test else LIVE_PREFIX) + body
    return NewApiKey(key=key, key_hash=hash_api_key(key), display_prefix=key[:12])


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def derive_key(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret.encode()
    )


class CredentialCipher:
    """Encrypts a provider's secret fields (password, API key) as one Fernet token, under
    the current key; decrypts under it or any previous one."""

    def __init__(self, secret: str, previous: Sequence[str] = ()) -> None:
        self._current = self._fernet(secret)
        self._any = MultiFernet([self._current, *map(self._fernet, previous)])

    @staticmethod
    def _fernet(secret: str) -> Fernet:
        key = derive_key(secret, "mailpass/provider-credentials")
        return Fernet(base64.urlsafe_b64encode(key))

    def encrypt(self, values: dict[str, Any]) -> str:
        return self._current.encrypt(json.dumps(values).encode()).decode()

    def decrypt(self, token: str | None) -> dict[str, Any]:
        if not token:
            return {}
        try:
            data: dict[str, Any] = json.loads(self._any.decrypt(token.encode()))
        except InvalidToken as exc:
            raise ValueError(
                "provider credentials cannot be decrypted with SECRET_KEY or SECRET_KEY_PREVIOUS"
            ) from exc
        return data

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is encrypted under the current key."""
        try:
            self._current.decrypt(token.encode())
        except InvalidToken:
            return False
        return True

    def reencrypt(self, token: str) -> str:
        """The same credentials under the current key (ValueError if no key decrypts)."""
        try:
            return self._any.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise ValueError("no key decrypts these credentials") from exc
