"""Builds providers from their documents and keeps them open across messages."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mailpass_common.db import Document
from mailpass_common.delivery.base import Provider
from mailpass_common.delivery.mailgun import MailgunProvider
from mailpass_common.delivery.sendgrid import SendGridProvider
from mailpass_common.delivery.ses import SesProvider
from mailpass_common.delivery.smtp import SmtpProvider
from mailpass_common.security import CredentialCipher

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


Factory = Callable[[dict[str, Any], dict[str, Any], DeliveryOptions], Provider]


def _smtp(config: dict[str, Any], secrets: dict[str, Any], options: DeliveryOptions) -> Provider:
    return SmtpProvider(
        config,
        secrets,
        max_connections=int(config.get("max_connections") or options.smtp_max_connections),
        timeout=options.smtp_timeout_seconds,
        idle_check_seconds=options.smtp_idle_check_seconds,
    )


def _sandbox(config: dict[str, Any], secrets: dict[str, Any], options: DeliveryOptions) -> Provider:
    """The capture server test keys and the dev stack deliver to; nothing leaves."""
    return _smtp(
        {"host": options.sandbox_smtp_host, "port": options.sandbox_smtp_port, "security": "none"},
        {},
        options,
    )


# HTTP providers take their timeouts and endpoints from their own config (tests point
# base_url / endpoint_url at local servers); each keeps one HTTP client open.
FACTORIES: dict[str, Factory] = {
    "smtp": _smtp,
    "ses": lambda config, secrets, _options: SesProvider(config, secrets),
    "sendgrid": lambda config, secrets, _options: SendGridProvider(config, secrets),
    "mailgun": lambda config, secrets, _options: MailgunProvider(config, secrets),
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
