"""MailPass SMTP sends only from the account's verified sending domains.

A message whose provider is of the ``mailpass`` type, and whose From domain is not one of
the account's verified sending domains (``mailpass_common.mta.domains``), is refused with
422 DOMAIN_NOT_VERIFIED before anything is stored: MailPass signs its mail with the
domain's DKIM key, and mail from a domain we hold no verified key for would be refused
by receivers, or worse, sent in the name of someone else's domain. Test keys are held to
the same rule, so that an integration tested with them behaves the same when live.
Other provider types answer for their senders themselves. One index-served read per
distinct From domain (a batch usually has one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from mailpass_common.mta.domains import verified_domain
from mailpass_common.mta.provider import TYPE
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_gateway.errors import ApiError


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


async def unverified(
    db: Database, provider: Document, account_id: str, from_emails: Iterable[str]
) -> set[str]:
    """The From domains among ``from_emails`` this provider may not send from."""
    if provider.get("type") != TYPE:
        return set()
    domains = sorted({domain_of(address) for address in from_emails if address})
    found = await asyncio.gather(*(verified_domain(db, account_id, d) for d in domains))
    return {d for d, verified in zip(domains, found, strict=True) if verified is None}


def refusal(domain: str) -> ApiError:
    return ApiError(
        ErrorCode.DOMAIN_NOT_VERIFIED,
        f"{domain} is not a verified sending domain of this account: MailPass SMTP sends "
        "only from verified domains (POST /api/v1/domains, publish its records, then verify)",
        {"domain": domain},
    )


async def require_verified(
    db: Database, provider: Document, account_id: str, from_email: str
) -> None:
    """Raise DOMAIN_NOT_VERIFIED when this provider may not send from ``from_email``."""
    if await unverified(db, provider, account_id, [from_email]):
        raise refusal(domain_of(from_email))
