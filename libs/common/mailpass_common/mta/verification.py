"""Verifying a sending domain: look its records up now, store what was found.

Every look-up runs at once (a handful of queries, each bounded by the resolver's limits
and ``mta.lookup``'s). A look-up that failed (timeout, SERVFAIL) changes nothing: the
record keeps its last status, so a DNS outage never un-verifies a domain that sends;
an answer that the record is gone or different does.

When the newest DKIM generation's RSA record verifies, older generations are removed: the
new keys sign from then on, and their records can be taken out of DNS.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

import dns.asyncresolver
from pymongo import ReturnDocument

from mailpass_common.mta import dkim, lookup
from mailpass_common.mta.dkim import Algorithm
from mailpass_common.mta.domains import COLLECTION, DomainStatus
from mailpass_common.mta.records import (
    Check,
    check_dkim,
    check_dmarc,
    check_return_path,
    check_spf,
)
from mailpass_common.platform.db import Database, Document, now_stamp, where


@dataclass(frozen=True)
class Verified:
    domain: Document
    keys: list[Document]
    lookup_errors: list[str]  # names whose look-up failed (their status was kept)


async def verify_domain(
    db: Database,
    resolver: dns.asyncresolver.Resolver,
    doc: Document,
    return_path_domain: str,
) -> Verified:
    """Look ``doc``'s records up now and store their status; the domain as it is after."""
    domain = doc["domain"]
    keys = [
        k
        for k in await dkim.domain_keys(db, doc["account_id"], domain)
        if k["domain_id"] == doc["_id"]
    ]
    names = [dkim.record_name(k["selector"], domain) for k in keys]
    answers = await asyncio.gather(
        *(lookup.lookup_txt(resolver, name) for name in names),
        lookup.lookup_txt(resolver, domain),
        lookup.lookup_txt(resolver, f"_dmarc.{domain}"),
        *([lookup.lookup_mx(resolver, return_path_domain)] if return_path_domain else []),
    )
    key_answers = answers[: len(keys)]
    spf_answer, dmarc_answer = answers[len(keys)], answers[len(keys) + 1]
    errors: list[str] = []
    key_checks: list[Check | None] = []
    for key, name, answer in zip(keys, names, key_answers, strict=True):
        assert isinstance(answer, lookup.TxtAnswer)
        check = check_dkim(answer, Algorithm(key["algorithm"]), key["public_key"])
        if check is None:
            errors.append(name)
        key_checks.append(check)
    other: dict[str, Check | None] = {}
    assert isinstance(spf_answer, lookup.TxtAnswer)
    assert isinstance(dmarc_answer, lookup.TxtAnswer)
    if return_path_domain:
        other["spf"] = check_spf(spf_answer, return_path_domain)
        mx = answers[len(keys) + 2]
        assert isinstance(mx, lookup.MxAnswer)
        other["return_path"] = check_return_path(mx)
    other["dmarc"] = check_dmarc(dmarc_answer)
    errors += [purpose for purpose, check in other.items() if check is None]

    for key, check in zip(keys, key_checks, strict=True):
        if check is not None:
            key["status"], key["found"] = check.status.value, check.found
            await db[dkim.COLLECTION].update_one(
                where(_id=key["_id"]),
                {
                    "$set": {"status": check.status.value, "found": check.found},
                    **now_stamp("checked_at"),
                },
            )
    keys = await _retire_older_generations(db, keys)
    signing = dkim.signing_generation(keys)
    status = DomainStatus.VERIFIED if signing is not None else DomainStatus.PENDING
    update: dict[str, Any] = {"status": status.value}
    for purpose, check in other.items():
        if check is not None:
            update[f"checks.{purpose}"] = {"status": check.status.value, "found": check.found}
    stamps = ["checked_at", "updated_at"]
    if status is DomainStatus.VERIFIED and doc.get("status") != DomainStatus.VERIFIED:
        stamps.append("verified_at")
    if status is DomainStatus.PENDING:
        update["verified_at"] = None
    updated = await db[COLLECTION].find_one_and_update(
        where(_id=doc["_id"], account_id=doc["account_id"]),
        {"$set": update, **now_stamp(*stamps)},
        return_document=ReturnDocument.AFTER,
    )
    return Verified(domain=updated or doc, keys=keys, lookup_errors=errors)


async def _retire_older_generations(db: Database, keys: list[Document]) -> list[Document]:
    """Once the newest generation's RSA record verified, the older generations' keys are
    removed: they no longer sign."""
    newest = max((int(k["generation"]) for k in keys), default=0)
    if dkim.signing_generation(keys) != newest:
        return keys
    old = [k["_id"] for k in keys if int(k["generation"]) < newest]
    if old:
        await db[dkim.COLLECTION].delete_many(where(_id={"$in": old}))
    return [k for k in keys if int(k["generation"]) == newest]
