"""Builds providers from their documents and keeps them open across messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mailpass_common.mta.engine import MtaEngine
from mailpass_common.mta.provider import MtaProvider
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Document
from mailpass_common.platform.egress import EgressPolicy
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.providers.delivery.base import Provider
from mailpass_common.providers.delivery.mailgun import MailgunProvider
from mailpass_common.providers.delivery.sendgrid import SendGridProvider
from mailpass_common.providers.delivery.ses import SesProvider
from mailpass_common.providers.delivery.smtp import STRICT_EGRESS, SmtpProvider

SANDBOX_ID = "sandbox"


@dataclass(frozen=True)
class DeliveryOptions:
    """The operator's delivery settings every provider is built with."""

    # Connections kept open per SMTP provider, which is also its concurrency cap.
    smtp_max_connections: int = 8
    smtp_timeout_seconds: float = 30.0
    # A pooled SMTP connection idle longer than this is checked with NOOP before reuse.
    smtp_idle_check_seconds: float = 10.0
    # Where test API keys (mp_test_) deliver: a capture server, never a real provider.
    sandbox_smtp_host: str = "127.0.0.1"
    sandbox_smtp_port: int = 1025
    # Where tenants' providers may connect (strict unless the operator widens it).
    egress: EgressPolicy = STRICT_EGRESS
    # SES: the operator's endpoint (local testing), and whether providers without keys
    # may use the platform's own AWS identity.
    ses_endpoint_url: str | None = None
    ses_allow_ambient_credentials: bool = False
    # MailPass's own delivery, shared by every `mailpass` provider (None: not enabled).
    mta: MtaEngine | None = None


def delivery_options(settings: CommonSettings, **overrides: Any) -> DeliveryOptions:
    """The options with the operator's provider rules from ``settings``."""
    return DeliveryOptions(
        egress=settings.egress_policy(),
        ses_endpoint_url=settings.ses_endpoint_url,
        ses_allow_ambient_credentials=settings.ses_allow_ambient_credentials,
        **overrides,
    )


Factory = Callable[[dict[str, Any], dict[str, Any], DeliveryOptions], Provider]


def _smtp(config: dict[str, Any], secrets: dict[str, Any], options: DeliveryOptions) -> Provider:
    return SmtpProvider(
        config,
        secrets,
        max_connections=int(config.get("max_connections") or options.smtp_max_connections),
        timeout=options.smtp_timeout_seconds,
        idle_check_seconds=options.smtp_idle_check_seconds,
        egress=options.egress,
    )


def _sandbox(config: dict[str, Any], secrets: dict[str, Any], options: DeliveryOptions) -> Provider:
    """The capture server test keys and the dev stack deliver to; nothing leaves. It is
    the operator's own address, so no egress policy applies to it."""
    return SmtpProvider(
        {"host": options.sandbox_smtp_host, "port": options.sandbox_smtp_port, "security": "none"},
        {},
        max_connections=options.smtp_max_connections,
        timeout=options.smtp_timeout_seconds,
        idle_check_seconds=options.smtp_idle_check_seconds,
        egress=None,
    )


def _ses(config: dict[str, Any], secrets: dict[str, Any], options: DeliveryOptions) -> Provider:
    return SesProvider(
        config,
        secrets,
        endpoint_url=options.ses_endpoint_url,
        allow_ambient_credentials=options.ses_allow_ambient_credentials,
    )


# HTTP providers take their timeouts and base URLs from their own config; each keeps one
# HTTP client open.
FACTORIES: dict[str, Factory] = {
    "smtp": _smtp,
    "ses": _ses,
    "sendgrid": lambda config, secrets, o: SendGridProvider(config, secrets, egress=o.egress),
    "mailgun": lambda config, secrets, o: MailgunProvider(config, secrets, egress=o.egress),
    "mailpass": lambda config, secrets, o: MtaProvider(o.mta),
    SANDBOX_ID: _sandbox,
}


def build_provider(doc: Document, cipher: CredentialCipher, options: DeliveryOptions) -> Provider:
    """A new provider for a provider document (the caller closes it)."""
    factory = FACTORIES.get(doc["type"])
    if factory is None:
        raise LookupError(f"provider type {doc['type']!r} is not supported")
    return factory(doc.get("config", {}), cipher.decrypt(doc.get("secret")), options)


class ProviderPool:
    """One open provider per provider document version, shared by all deliveries."""

    def __init__(self, options: DeliveryOptions, cipher: CredentialCipher) -> None:
        self._options = options
        self._cipher = cipher
        self._open: dict[str, tuple[int, Provider]] = {}

    async def get(self, doc: Document) -> Provider:
        version = int(doc.get("version", 0))
        cached = self._open.get(doc["_id"])
        if cached is not None and cached[0] == version:
            return cached[1]
        provider = build_provider(doc, self._cipher, self._options)
        if cached is not None:
            await cached[1].close()
        self._open[doc["_id"]] = (version, provider)
        return provider

    def smtp_connections(self) -> int:
        """SMTP sessions open to providers (idle or in use)."""
        return sum(int(getattr(p, "open_connections", 0)) for _, p in self._open.values())

    async def close(self) -> None:
        for _, provider in self._open.values():
            await provider.close()
        self._open.clear()
