"""Sending domains as the API and the console change them, and what both show: adding a
domain from a tenant's text, verifying, rotating its DKIM keys, removing it; lookups by id
and the view of a domain with its records.

Changes need the ``providers`` permission and a live key (domains are live configuration),
checked at each door (``LiveDomainsKey``, the console's ``_require_change``). Nothing is
cached in the gateway: the senders read a domain's keys when they sign.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import dns.asyncresolver
from fastapi import Depends, Request

from mailpass_common.messages.models import stored_datetime
from mailpass_common.mta import dkim, domains
from mailpass_common.mta.lookup import checking_resolver
from mailpass_common.mta.names import DomainNameError, normalize_domain, unicode_name
from mailpass_common.mta.records import domain_records
from mailpass_common.mta.verification import verify_domain
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.tenants.api_keys import ApiKeyRecord, Permission
from mailpass_gateway.deps import require
from mailpass_gateway.errors import ApiError

# Domains are live configuration, like providers: a test key may read them only.
LiveDomainsKey = Annotated[
    ApiKeyRecord,
    Depends(
        require(
            Permission.PROVIDERS,
            refused_to_test_keys="A test API key can read sending domains but not add, "
            "verify, rotate or remove them. Use a live key.",
        )
    ),
]


async def get_resolver(request: Request) -> dns.asyncresolver.Resolver:
    """The MTA's resolver (MTA_DNS_NAMESERVERS), made once per application."""
    resolver: dns.asyncresolver.Resolver | None = getattr(request.app.state, "resolver", None)
    if resolver is None:
        settings: CommonSettings = request.app.state.settings
        resolver = checking_resolver(settings.mta_dns_nameservers)
        request.app.state.resolver = resolver
    return resolver


Resolver = Annotated[dns.asyncresolver.Resolver, Depends(get_resolver)]


def not_found(domain_id: str) -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, f"No sending domain {domain_id!r} in this account")


def domain_name(text: str) -> str:
    try:
        return normalize_domain(text)
    except DomainNameError as exc:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "Invalid request: domain",
            [{"field": "domain", "message": str(exc)}],
        ) from None


async def add_domain(
    db: Database, cipher: CredentialCipher, account_id: str, text: str
) -> Document:
    name = domain_name(text)
    try:
        return await domains.create_domain(db, cipher, account_id, name)
    except domains.DomainExistsError as exc:
        raise ApiError(
            ErrorCode.DOMAIN_EXISTS, str(exc), {"domain": exc.domain, "id": exc.domain_id}
        ) from None
    except domains.DomainLimitError as exc:
        raise ApiError(
            ErrorCode.DOMAIN_LIMIT_REACHED,
            str(exc),
            {"limit": domains.MAX_DOMAINS_PER_ACCOUNT},
        ) from None


async def owned_domain(db: Database, account_id: str, domain_id: str) -> Document:
    doc = await domains.get_domain(db, account_id, domain_id)
    if doc is None:
        raise not_found(domain_id)
    return doc


async def domain_view(
    db: Database,
    doc: Document,
    settings: CommonSettings,
    *,
    keys: Sequence[Document] | None = None,
    lookup_errors: Sequence[str] = (),
) -> dict[str, Any]:
    if keys is None:
        keys = [
            k
            for k in await dkim.domain_keys(db, doc["account_id"], doc["domain"])
            if k["domain_id"] == doc["_id"]
        ]
    records = domain_records(doc, keys, settings.mta_return_path_domain)
    return {
        "id": doc["_id"],
        "domain": doc["domain"],
        "unicode_domain": unicode_name(doc["domain"]),
        "status": doc.get("status", domains.DomainStatus.PENDING),
        "records": [r.view() for r in records],
        "lookup_errors": list(lookup_errors),
        "created_at": stored_datetime(doc.get("created_at")),
        "checked_at": stored_datetime(doc.get("checked_at")),
        "verified_at": stored_datetime(doc.get("verified_at")),
    }


async def verify(
    db: Database, resolver: dns.asyncresolver.Resolver, doc: Document, settings: CommonSettings
) -> dict[str, Any]:
    """Look the domain's records up now; its view with what was found."""
    checked = await verify_domain(db, resolver, doc, settings.mta_return_path_domain)
    return await domain_view(
        db, checked.domain, settings, keys=checked.keys, lookup_errors=checked.lookup_errors
    )


async def list_views(
    db: Database, account_id: str, settings: CommonSettings
) -> list[dict[str, Any]]:
    """Every domain of the account with its records: two reads, whatever their number."""
    docs = await domains.list_domains(db, account_id)
    keys = await dkim.account_keys(db, account_id)
    return [
        await domain_view(
            db, doc, settings, keys=dkim.ordered([k for k in keys if k["domain_id"] == doc["_id"]])
        )
        for doc in docs
    ]


async def rotate_dkim(
    db: Database, cipher: CredentialCipher, account_id: str, domain_id: str
) -> Document:
    """New DKIM keys under new selectors (the current ones sign until the new record
    verifies); the domain as it is now. NOT_FOUND when the account has no such domain."""
    doc = await domains.rotate_dkim(db, cipher, account_id, domain_id)
    if doc is None:  # none, or another request rotated it at this moment: that one stands
        doc = await owned_domain(db, account_id, domain_id)
    return doc


async def delete_domain(db: Database, account_id: str, domain_id: str) -> None:
    """Remove the domain and its keys: mail from it is no longer sent. NOT_FOUND when
    there is none."""
    if not await domains.delete_domain(db, account_id, domain_id):
        raise not_found(domain_id)
