"""Sending domains: the domains an account sends from through MailPass's own delivery.

One document a domain in ``domains``::

    {_id: "dom_…", account_id, domain (ASCII, lower case), status: "pending" | "verified",
     generation (the newest DKIM generation), checks: {spf|dmarc|return_path:
     {status, found, checked_at}}, checked_at | None, verified_at | None, created_at}

``(account_id, domain)`` is unique. Two accounts may each add the same domain: each has
its own selectors, and only whoever controls the domain's DNS can publish them, so adding
a name proves nothing until its DKIM record verifies (``status`` stays ``pending``).

A domain is ``verified`` while one of its DKIM generations has a verified RSA record (it
signs, :mod:`mailpass_common.mta.dkim`); the checks of SPF, DMARC and the return path are
advice, shown beside it, and do not gate sending.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError

from mailpass_common.audit.record import record
from mailpass_common.messages.models import stored_datetime
from mailpass_common.mta import dkim
from mailpass_common.mta.names import normalize_domain
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Collections, Database, Document, now_stamp, where

COLLECTION = Collections.DOMAINS
# An account's domains are listed whole (API, console, CLI); each costs two key pairs.
MAX_DOMAINS_PER_ACCOUNT = 100


class DomainStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"


@dataclass(frozen=True)
class SendingDomain:
    id: str
    account_id: str
    domain: str
    status: DomainStatus
    created_at: datetime | None
    verified_at: datetime | None

    @classmethod
    def from_document(cls, doc: Document) -> SendingDomain:
        return cls(
            id=str(doc["_id"]),
            account_id=str(doc["account_id"]),
            domain=str(doc["domain"]),
            status=DomainStatus(doc.get("status", DomainStatus.PENDING)),
            created_at=stored_datetime(doc.get("created_at")),
            verified_at=stored_datetime(doc.get("verified_at")),
        )


class DomainExistsError(Exception):
    def __init__(self, domain: str, domain_id: str | None) -> None:
        super().__init__(f"{domain} is already a sending domain of this account")
        self.domain = domain
        self.domain_id = domain_id


class DomainLimitError(Exception):
    def __init__(self) -> None:
        super().__init__(
            f"This account has {MAX_DOMAINS_PER_ACCOUNT} sending domains, the most it may "
            "have: remove one first"
        )


async def verified_domain(db: Database, account_id: str, domain: str) -> SendingDomain | None:
    """The account's sending domain ``domain`` when it is verified, else None (also for a
    name that is not a domain). One read on the unique ``(account_id, domain)`` index."""
    try:
        name = normalize_domain(domain)
    except ValueError:
        return None
    doc = await db[COLLECTION].find_one(verified_selector(account_id, name))
    return None if doc is None else SendingDomain.from_document(doc)


def verified_selector(account_id: str, domain: str) -> dict[str, Any]:
    return where(account_id=account_id, domain=domain, status=DomainStatus.VERIFIED.value)


async def make_keys(
    cipher: CredentialCipher, *, account_id: str, domain_id: str, domain: str, generation: int
) -> list[Document]:
    """A generation's key documents (RSA, then Ed25519), made in a worker thread."""
    made = await asyncio.gather(
        asyncio.to_thread(dkim.generate_key, dkim.Algorithm.RSA),
        asyncio.to_thread(dkim.generate_key, dkim.Algorithm.ED25519),
    )
    return dkim.key_documents(
        cipher,
        account_id=account_id,
        domain_id=domain_id,
        domain=domain,
        generation=generation,
        keys=made,
    )


async def create_domain(
    db: Database, cipher: CredentialCipher, account_id: str, domain: str
) -> Document:
    """A new pending domain with its first DKIM keys. ``domain`` must be normalized
    (:func:`~mailpass_common.mta.names.normalize_domain`). DomainExistsError when the
    account has it, DomainLimitError past MAX_DOMAINS_PER_ACCOUNT."""
    existing = db[COLLECTION].find(where(account_id=account_id), projection={"domain": 1})
    names = {d["domain"]: d["_id"] async for d in existing.limit(MAX_DOMAINS_PER_ACCOUNT + 1)}
    if domain in names:
        raise DomainExistsError(domain, str(names[domain]))
    if len(names) >= MAX_DOMAINS_PER_ACCOUNT:
        raise DomainLimitError()
    domain_id = f"dom_{secrets.token_hex(12)}"
    keys = await make_keys(
        cipher, account_id=account_id, domain_id=domain_id, domain=domain, generation=1
    )
    # Keys first: keys left without their domain (an interrupted request) never verify,
    # so they never sign.
    await db[dkim.COLLECTION].insert_many(keys)
    now = keys[0]["created_at"]
    doc: Document = {
        "_id": domain_id,
        "account_id": account_id,
        "domain": domain,
        "status": DomainStatus.PENDING.value,
        "generation": 1,
        "checks": {},
        "checked_at": None,
        "verified_at": None,
        "created_at": now,
    }
    try:
        await db[COLLECTION].insert_one(doc)
    except DuplicateKeyError:  # added by a concurrent request meanwhile
        await db[dkim.COLLECTION].delete_many(where(domain_id=domain_id))
        found = await db[COLLECTION].find_one(where(account_id=account_id, domain=domain))
        raise DomainExistsError(domain, None if found is None else str(found["_id"])) from None
    await _audit(db, "domain.created", doc, before=None, after=doc)
    return doc


def audit_state(doc: Document | None) -> dict[str, Any] | None:
    """A domain as the audit log keeps it (its DKIM keys, private parts above all, never)."""
    if doc is None:
        return None
    return {f: doc.get(f) for f in ("_id", "domain", "status", "generation")}


async def _audit(
    db: Database, action: str, doc: Document, *, before: Document | None, after: Document | None
) -> None:
    await record(
        db,
        account_id=doc["account_id"],
        action=action,
        resource_type="domain",
        resource_id=doc["_id"],
        before=audit_state(before),
        after=audit_state(after),
    )


async def list_domains(db: Database, account_id: str) -> list[Document]:
    cursor = db[COLLECTION].find(where(account_id=account_id)).sort([("domain", 1)])
    return [doc async for doc in cursor.limit(MAX_DOMAINS_PER_ACCOUNT)]


async def get_domain(db: Database, account_id: str, domain_id: str) -> Document | None:
    """The account's domain (None for another account's, or a bad id)."""
    if not isinstance(domain_id, str) or len(domain_id) > 64:
        return None
    return await db[COLLECTION].find_one(where(_id=domain_id, account_id=account_id))


async def find_domain(db: Database, account_id: str, domain: str) -> Document | None:
    """The account's domain by name, any status (the CLI names domains by name)."""
    try:
        name = normalize_domain(domain)
    except ValueError:
        return None
    return await db[COLLECTION].find_one(where(account_id=account_id, domain=name))


async def delete_domain(db: Database, account_id: str, domain_id: str) -> bool:
    """Remove the domain's keys, then the domain: interrupted in between, the domain is
    left without a key to sign with, which the MTA refuses to send unsigned."""
    doc = await get_domain(db, account_id, domain_id)
    if doc is None:
        return False
    await db[dkim.COLLECTION].delete_many(
        where(account_id=account_id, domain=doc["domain"], domain_id=domain_id)
    )
    result = await db[COLLECTION].delete_one(where(_id=domain_id, account_id=account_id))
    if result.deleted_count != 1:
        return False
    await _audit(db, "domain.deleted", doc, before=doc, after=None)
    return True


async def rotate_dkim(
    db: Database, cipher: CredentialCipher, account_id: str, domain_id: str
) -> Document | None:
    """A new generation of keys under new selectors. The generation that signs now keeps
    signing until the new RSA record verifies (:func:`~mailpass_common.mta.verification.
    verify_domain` then removes it); keys of an earlier rotation that never verified are
    replaced. None when the domain is not the account's, or was rotated concurrently."""
    doc = await get_domain(db, account_id, domain_id)
    if doc is None:
        return None
    current = int(doc.get("generation", 1))
    keys = await make_keys(
        cipher,
        account_id=account_id,
        domain_id=domain_id,
        domain=doc["domain"],
        generation=current + 1,
    )
    await db[dkim.COLLECTION].insert_many(keys)
    updated = await db[COLLECTION].find_one_and_update(
        where(_id=domain_id, account_id=account_id, generation=current),
        {"$set": {"generation": current + 1}, **now_stamp("updated_at")},
        return_document=ReturnDocument.AFTER,
    )
    if updated is None:
        await db[dkim.COLLECTION].delete_many(where(_id={"$in": [k["_id"] for k in keys]}))
        return None
    existing = await dkim.domain_keys(db, account_id, doc["domain"])
    signing = dkim.signing_generation(existing)
    stale = [
        k["_id"]
        for k in existing
        if k["domain_id"] == domain_id
        and k["generation"] <= current
        and (signing is None or k["generation"] > signing)
    ]
    if stale:
        await db[dkim.COLLECTION].delete_many(where(_id={"$in": stale}))
    await _audit(db, "domain.dkim_rotated", updated, before=doc, after=updated)
    return updated
