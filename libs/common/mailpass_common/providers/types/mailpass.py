"""``mailpass`` ("MailPass SMTP"): MailPass delivers by itself (``mailpass_common.mta``),
and sends only from the account's verified sending domains.

No config and no credentials: the delivery settings are the operator's (``MTA_*``), and
each provider is a handle on the sender's one engine. No event hook: bounces come back to
MailPass's own return path (``mailpass-inbound``).

Before a message is accepted (``accept``): a From domain that is not one of the account's
verified sending domains (``mailpass_common.mta.domains``) is refused with 422
DOMAIN_NOT_VERIFIED before anything is stored: MailPass signs its mail with the domain's
DKIM key, and mail from a domain we hold no verified key for would be refused by
receivers, or worse, sent in the name of someone else's domain. Test keys are held to the
same rule, so that an integration tested with them behaves the same when live. One
index-served read per distinct From domain (a batch usually has one).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from mailpass_common.mta.domains import verified_domain
from mailpass_common.mta.provider import DISPLAY_NAME, TYPE, MtaProvider
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.providers.delivery.options import DeliveryOptions
from mailpass_common.providers.plugin import (
    Acceptance,
    AcceptanceRefused,
    ConsoleForm,
    ProviderPlugin,
)
from mailpass_common.providers.type_config import TypeConfig


class MailpassConfig(TypeConfig):
    """Nothing to set per provider: the delivery settings are the operator's (``MTA_*``)."""


def build(config: MailpassConfig, options: DeliveryOptions) -> MtaProvider:
    return MtaProvider(options.mta, enabled=options.mta_enabled)


def domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def refusal(domain: str) -> AcceptanceRefused:
    return AcceptanceRefused(
        ErrorCode.DOMAIN_NOT_VERIFIED,
        f"{domain} is not a verified sending domain of this account: MailPass SMTP sends "
        "only from verified domains (POST /api/v1/domains, publish its records, then verify)",
        {"domain": domain},
    )


async def accept(acceptance: Acceptance) -> dict[str, AcceptanceRefused]:
    """The senders among ``acceptance.from_emails`` whose domain is not verified."""
    domains = sorted({domain_of(a) for a in acceptance.from_emails if a})
    found = await asyncio.gather(
        *(verified_domain(acceptance.db, acceptance.account_id, d) for d in domains)
    )
    unverified = {d for d, verified in zip(domains, found, strict=True) if verified is None}
    return {
        address: refusal(domain_of(address))
        for address in acceptance.from_emails
        if domain_of(address) in unverified
    }


def summary(config: Mapping[str, Any]) -> str:
    return "MailPass delivers itself, DKIM-signed"


PLUGIN = ProviderPlugin(
    type=TYPE,
    config_model=MailpassConfig,
    build=build,
    example={},
    accept=accept,
    form=ConsoleForm(
        name=DISPLAY_NAME,
        blurb="MailPass delivers by itself to recipients' mail servers, DKIM-signed, "
        "from your verified sending domains.",
        summary=summary,
    ),
)
