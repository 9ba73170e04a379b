"""Secrets at rest: keys derived from ``SECRET_KEY``, and the encryption of stored credentials.

Provider credentials are encrypted with Fernet under a key
derived from ``SECRET_KEY``; other purposes (console users' TOTP secrets, tracking links)
derive keys of their own.
Keys being rotated out (``SECRET_KEY_PREVIOUS``) still decrypt, never encrypt.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF


def derive_key(secret: str, purpose: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=purpose.encode()).derive(
        secret.encode()
    )


PROVIDER_CREDENTIALS = "mailpass/provider-credentials"
USER_TOTP = "mailpass/user-totp"


class CredentialCipher:
    """Encrypts a provider's secret fields (password, API key) as one Fernet token, under
    the current key; decrypts under it or any previous one. Another ``purpose`` (a
    user's TOTP secret) encrypts under a key of its own."""

    def __init__(
        self, secret: str, previous: Sequence[str] = (), *, purpose: str = PROVIDER_CREDENTIALS
    ) -> None:
        self._purpose = purpose
        self._current = self._fernet(secret)
        self._any = MultiFernet([self._current, *map(self._fernet, previous)])

    def _fernet(self, secret: str) -> Fernet:
        key = derive_key(secret, self._purpose)
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
                f"{self._purpose} cannot be decrypted with SECRET_KEY or SECRET_KEY_PREVIOUS"
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
