"""DKIM keys made by MailPass, and which of them sign now (:mod:`mta.signature` signs).

One document a key in ``dkim_keys``::

    {_id: "dk_…", account_id, domain_id, domain, generation, selector, algorithm,
     public_key (base64, the record's p=), secret (encrypted private key),
     status: "missing" | "verified" | "mismatch", found | None, checked_at | None, created_at}

Each generation of a domain has an RSA 2048 key (``rsa-sha256``, what every receiver
checks) and an Ed25519 key (``ed25519-sha256``, RFC 8463), each under its own selector.
Private keys are encrypted at rest with the provider credentials' cipher (``SECRET_KEY``;
``mailpass secrets rotate`` re-encrypts them, ``mailpass_common.providers.credential_rotation``).

What signs: the newest generation whose RSA record verified, with its keys whose records
verified (the Ed25519 key only once its own record did: a signature whose key is not
published would only add a failing result). A rotation adds a generation; the older one
keeps signing until the new RSA record verifies, and is then removed.
"""

from __future__ import annotations

import base64
import functools
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, rsa

from mailpass_common.mta.names import normalize_domain
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Collections, Database, Document, where

COLLECTION = Collections.DKIM_KEYS
RSA_BITS = 2048
MAX_LOADED_KEYS = 1024  # private keys kept loaded, the least recently used dropped

# Signed when present; From once more than it appears (oversigned), so no From can be
# added after signing. List-Unsubscribe and List-Unsubscribe-Post must be covered for
# one-click unsubscribe (RFC 8058).
SIGNED_HEADERS = (
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "message-id",
    "mime-version",
    "content-type",
    "reply-to",
    "list-unsubscribe",
    "list-unsubscribe-post",
)
OVERSIGNED_HEADERS = ("from",)


class Algorithm(StrEnum):
    RSA = "rsa-sha256"
    ED25519 = "ed25519-sha256"

    @property
    def key_type(self) -> str:
        """The record's ``k=``."""
        return "rsa" if self is Algorithm.RSA else "ed25519"


class RecordStatus(StrEnum):
    MISSING = "missing"
    VERIFIED = "verified"
    MISMATCH = "mismatch"


@dataclass(frozen=True)
class DkimKey:
    """A key that signs: its selector, algorithm and private key (PEM for RSA, the
    base64 seed for Ed25519, as dkimpy takes them)."""

    selector: str
    algorithm: Algorithm
    private_key: bytes = field(repr=False)

    @property
    def signing_key(self) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
        """The private key (ValueError when it is not one), loaded once per process."""
        return _loaded_key(self.algorithm, self.private_key)


@functools.lru_cache(maxsize=MAX_LOADED_KEYS)
def _loaded_key(
    algorithm: Algorithm, private_key: bytes
) -> rsa.RSAPrivateKey | ed25519.Ed25519PrivateKey:
    # Kept loaded: a sender's key cache reloads the same keys every few seconds. The RSA
    # consistency check (primality tests of the factors, ~60 ms, on the first message of
    # a burst) is skipped: these keys are MailPass's own, made by generate_key and read
    # back only through the authenticated cipher, so they are the keys that were made.
    if algorithm is Algorithm.RSA:
        key = serialization.load_pem_private_key(
            private_key, password=None, unsafe_skip_rsa_key_validation=True
        )
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ValueError("the key is not an RSA key")
        return key
    return ed25519.Ed25519PrivateKey.from_private_bytes(base64.b64decode(private_key))


@dataclass(frozen=True)
class NewKey:
    algorithm: Algorithm
    public_key: str  # base64: the DNS record's p=
    private_key: bytes = field(repr=False)


def generate_key(algorithm: Algorithm) -> NewKey:
    """A fresh key pair (RSA 2048 takes some 50-200 ms of CPU: call it off the loop)."""
    if algorithm is Algorithm.RSA:
        private = rsa.generate_private_key(public_exponent=65537, key_size=RSA_BITS)
        pem = private.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,  # RSAPrivateKey: what dkimpy reads
            serialization.NoEncryption(),
        )
        der = private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return NewKey(algorithm, base64.b64encode(der).decode(), pem)
    seed = ed25519.Ed25519PrivateKey.generate()
    raw = seed.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = seed.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return NewKey(algorithm, base64.b64encode(public).decode(), base64.b64encode(raw))


def record_value(algorithm: Algorithm, public_key: str) -> str:
    """The TXT record to publish at ``<selector>._domainkey.<domain>``."""
    return f"v=DKIM1; k={algorithm.key_type}; p={public_key}"


def record_name(selector: str, domain: str) -> str:
    return f"{selector}._domainkey.{domain}"


def new_selector_base() -> str:
    """``mp`` and 8 random base32 characters; the keys' selectors add ``r`` (RSA) or
    ``e`` (Ed25519). Random, so a new generation never reuses a published name."""
    return "mp" + base64.b32encode(secrets.token_bytes(5)).decode().lower()


def key_documents(
    cipher: CredentialCipher,
    *,
    account_id: str,
    domain_id: str,
    domain: str,
    generation: int,
    keys: Sequence[NewKey],
) -> list[Document]:
    """The documents of one generation's keys, private keys encrypted."""
    base = new_selector_base()
    now = datetime.now(UTC)
    now = now.replace(microsecond=now.microsecond // 1000 * 1000)  # what BSON keeps
    return [
        {
            "_id": f"dk_{secrets.token_hex(12)}",
            "account_id": account_id,
            "domain_id": domain_id,
            "domain": domain,
            "generation": generation,
            "selector": base + ("r" if key.algorithm is Algorithm.RSA else "e"),
            "algorithm": key.algorithm.value,
            "public_key": key.public_key,
            "secret": cipher.encrypt({"private_key": key.private_key.decode("ascii")}),
            "status": RecordStatus.MISSING.value,
            "found": None,
            "checked_at": None,
            "created_at": now,
        }
        for key in keys
    ]


def signing_generation(key_docs: Sequence[Document]) -> int | None:
    """The newest generation whose RSA record verified: the one that signs."""
    verified = [
        int(d["generation"])
        for d in key_docs
        if d.get("algorithm") == Algorithm.RSA and d.get("status") == RecordStatus.VERIFIED
    ]
    return max(verified, default=None)


async def domain_keys(db: Database, account_id: str, domain: str) -> list[Document]:
    """Every key of the account's domain, oldest generation first, RSA before Ed25519."""
    cursor = db[COLLECTION].find(keys_selector(account_id, domain))
    return ordered([doc async for doc in cursor])


def keys_selector(account_id: str, domain: str) -> dict[str, Any]:
    return where(account_id=account_id, domain=domain)


def ordered(key_docs: Sequence[Document]) -> list[Document]:
    """Oldest generation first, RSA before Ed25519."""
    return sorted(key_docs, key=lambda d: (int(d["generation"]), d["algorithm"] != Algorithm.RSA))


async def account_keys(db: Database, account_id: str) -> list[Document]:
    """Every key of every domain of the account, in one read (listings)."""
    cursor = db[COLLECTION].find(where(account_id=account_id), projection={"secret": 0})
    return [doc async for doc in cursor]


async def signing_keys(
    db: Database, cipher: CredentialCipher, account_id: str, domain: str
) -> list[DkimKey]:
    """The keys that sign the account's mail from ``domain`` now (none when no DKIM
    record verified). One index-served read; decrypting needs ``SECRET_KEY`` or a
    ``SECRET_KEY_PREVIOUS`` (ValueError otherwise)."""
    try:
        name = normalize_domain(domain)
    except ValueError:
        return []
    docs = await domain_keys(db, account_id, name)
    generation = signing_generation(docs)
    return [
        DkimKey(
            selector=str(doc["selector"]),
            algorithm=Algorithm(doc["algorithm"]),
            private_key=str(cipher.decrypt(doc["secret"])["private_key"]).encode("ascii"),
        )
        for doc in docs
        if doc["generation"] == generation and doc.get("status") == RecordStatus.VERIFIED
    ]
