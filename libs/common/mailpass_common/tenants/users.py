"""Console users: people who sign in to the web console, in one or more accounts.

A user is one person, found by email address (kept lower-cased, unique) and, once they
have signed in through the organisation's OpenID Connect provider, by that provider's
subject (``<issuer>#<sub>``, unique). What they may do in an account is their membership's
role (:mod:`mailpass_common.tenants.members`), not a property of the user.

- **Passwords** are hashed with argon2id (argon2-cffi's defaults, RFC 9106's second
  recommended profile: 64 MiB, 3 passes); the hash carries its parameters, and a hash
  made with older ones is replaced at the next successful sign-in. Hashing runs in a
  worker thread: it takes tens of milliseconds on purpose.
- **TOTP secrets** (RFC 6238, 30 s steps, 6 digits) are encrypted at rest like provider
  credentials, under a key of their own derived from ``SECRET_KEY``. A code is accepted
  once: the last step used is kept, and moving it forward is one conditional update, so
  a code seen over a shoulder (or replayed by two gateways at once) does not sign in again.
- **Disabling** a user keeps the record (and who they were) but refuses every sign-in;
  the console ends their sessions on the next request.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pyotp
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from mailpass_common.platform.crypto import USER_TOTP, CredentialCipher
from mailpass_common.platform.db import Collections, Database, Document, where
from mailpass_common.tenants.accounts import new_id

PASSWORD_MIN_LENGTH = 12
# Long enough for any passphrase, short enough that a hostile one costs nothing to refuse.
PASSWORD_MAX_LENGTH = 256
TOTP_STEP_SECONDS = 30
# One step either side: a phone whose clock is a few seconds off still signs in.
TOTP_WINDOW = 1

_hasher = PasswordHasher()


class UserExists(Exception):
    pass


class WeakPassword(ValueError):
    pass


def normalize_email(email: str) -> str:
    return email.strip().lower()


def totp_cipher(secret: str, previous: tuple[str, ...] = ()) -> CredentialCipher:
    return CredentialCipher(secret, previous, purpose=USER_TOTP)


def check_password(password: str) -> None:
    """WeakPassword with the reason, for a password too short or too long."""
    if len(password) < PASSWORD_MIN_LENGTH:
        raise WeakPassword(f"at least {PASSWORD_MIN_LENGTH} characters")
    if len(password) > PASSWORD_MAX_LENGTH:
        raise WeakPassword(f"at most {PASSWORD_MAX_LENGTH} characters")


async def hash_password(password: str) -> str:
    check_password(password)
    return await asyncio.to_thread(_hasher.hash, password)


@dataclass(frozen=True)
class User:
    id: str
    email: str
    name: str
    disabled: bool
    has_password: bool
    has_totp: bool
    created_at: datetime | None


def user_view(doc: Document) -> User:
    """A user as the console and the API show one: never a hash or a secret."""
    return User(
        id=doc["_id"],
        email=doc["email"],
        name=str(doc.get("name") or ""),
        disabled=bool(doc.get("disabled")),
        has_password=bool(doc.get("password_hash")),
        has_totp=bool(doc.get("totp")),
        created_at=doc.get("created_at"),
    )


async def create_user(
    db: Database,
    email: str,
    *,
    name: str = "",
    password: str | None = None,
    totp_secret: str | None = None,
    cipher: CredentialCipher | None = None,
    oidc_subject: str | None = None,
) -> Document:
    """A new user; UserExists when the address has one already."""
    doc: Document = {
        "_id": new_id("usr"),
        "email": normalize_email(email),
        "name": name.strip(),
        "password_hash": await hash_password(password) if password is not None else None,
        "totp": None,
        "totp_last_step": 0,
        "disabled": False,
        "created_at": datetime.now(UTC),
    }
    if totp_secret is not None:
        if cipher is None:
            raise ValueError("a TOTP secret is stored encrypted: pass the cipher")
        doc["totp"] = cipher.encrypt({"secret": totp_secret})
    if oidc_subject is not None:
        doc["oidc_subject"] = oidc_subject
    try:
        await db[Collections.USERS].insert_one(doc)
    except DuplicateKeyError as exc:
        raise UserExists(doc["email"]) from exc
    return doc


async def get_user(db: Database, user_id: str) -> Document | None:
    return await db[Collections.USERS].find_one({"_id": user_id})


async def get_user_by_email(db: Database, email: str) -> Document | None:
    return await db[Collections.USERS].find_one(where(email=normalize_email(email)))


async def get_user_by_subject(db: Database, subject: str) -> Document | None:
    return await db[Collections.USERS].find_one(where(oidc_subject=subject))


async def link_subject(db: Database, user_id: str, subject: str) -> None:
    """Tie a user to an identity provider's subject (their first sign-in through it)."""
    await db[Collections.USERS].update_one({"_id": user_id}, {"$set": {"oidc_subject": subject}})


async def set_password(db: Database, user_id: str, password: str) -> None:
    hashed = await hash_password(password)
    await db[Collections.USERS].update_one({"_id": user_id}, {"$set": {"password_hash": hashed}})


async def verify_password(db: Database, doc: Document, password: str) -> bool:
    """Whether ``password`` is the user's; a hash made with older parameters is renewed."""
    hashed = doc.get("password_hash")
    if not hashed or not password or len(password) > PASSWORD_MAX_LENGTH:
        # The same work as a real check, so a missing user or password is not told apart
        # by the time the answer takes.
        await asyncio.to_thread(_hasher.hash, password[:PASSWORD_MAX_LENGTH] or "-")
        return False
    try:
        await asyncio.to_thread(_hasher.verify, hashed, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(hashed):
        await set_password(db, doc["_id"], password)
    return True


def new_totp_secret() -> str:
    return pyotp.random_base32()


def totp_uri(secret: str, email: str, issuer: str = "MailPass") -> str:
    """The ``otpauth://`` URI an authenticator app reads (typed in, or from a QR code)."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def totp_step(code: str, secret: str, at: float | None = None) -> int | None:
    """The time step ``code`` is valid for (within the window), or None."""
    code = code.strip().replace(" ", "")
    if len(code) != 6 or not code.isdigit():
        return None
    totp = pyotp.TOTP(secret, interval=TOTP_STEP_SECONDS)
    now = time.time() if at is None else at
    for offset in range(-TOTP_WINDOW, TOTP_WINDOW + 1):
        moment = now + offset * TOTP_STEP_SECONDS
        if pyotp.utils.strings_equal(totp.at(moment), code):
            return int(moment // TOTP_STEP_SECONDS)
    return None


async def set_totp(db: Database, cipher: CredentialCipher, user_id: str, secret: str) -> None:
    await db[Collections.USERS].update_one(
        {"_id": user_id},
        {"$set": {"totp": cipher.encrypt({"secret": secret}), "totp_last_step": 0}},
    )


async def verify_totp(
    db: Database, cipher: CredentialCipher, doc: Document, code: str, at: float | None = None
) -> bool:
    """Whether ``code`` is the user's current one, never used before (then it is spent)."""
    token = doc.get("totp")
    if not token:
        return False
    step = totp_step(code, str(cipher.decrypt(token).get("secret", "")), at)
    if step is None:
        return False
    spent = await db[Collections.USERS].update_one(
        {"_id": doc["_id"], "totp_last_step": {"$lt": step}}, {"$set": {"totp_last_step": step}}
    )
    return spent.modified_count == 1


async def set_disabled(db: Database, user_id: str, disabled: bool) -> Document | None:
    """Disable or enable a user; None if there is no such user. The caller ends the
    sessions of a disabled user (:func:`mailpass_common.tenants.console_auth.end_user_sessions`)."""
    return await db[Collections.USERS].find_one_and_update(
        {"_id": user_id}, {"$set": {"disabled": disabled}}, return_document=ReturnDocument.AFTER
    )


async def set_name(db: Database, user_id: str, name: str) -> None:
    await db[Collections.USERS].update_one({"_id": user_id}, {"$set": {"name": name.strip()}})


async def users_by_id(db: Database, user_ids: list[str]) -> dict[str, Document]:
    if not user_ids:
        return {}
    found: list[Any] = await db[Collections.USERS].find({"_id": {"$in": user_ids}}).to_list()
    return {doc["_id"]: doc for doc in found}


@dataclass
class TotpRotation:
    reencrypted: int = 0
    already_current: int = 0
    undecryptable: list[str] = field(default_factory=list)  # the users' addresses


async def reencrypt_totp(db: Database, cipher: CredentialCipher) -> TotpRotation:
    """Every user's TOTP secret under the current key (``mailpass secrets rotate``); a
    secret changed meanwhile is left to its new value."""
    report = TotpRotation()
    async for doc in db[Collections.USERS].find({}, projection={"totp": 1, "email": 1}):
        token = doc.get("totp")
        if not token:
            continue
        if cipher.is_current(token):
            report.already_current += 1
            continue
        try:
            fresh = cipher.reencrypt(token)
        except ValueError:
            report.undecryptable.append(str(doc["email"]))
            continue
        done = await db[Collections.USERS].update_one(
            {"_id": doc["_id"], "totp": {"$eq": token}}, {"$set": {"totp": fresh}}
        )
        report.reencrypted += done.modified_count
    return report
