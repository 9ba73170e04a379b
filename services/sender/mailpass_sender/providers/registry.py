"""Builds providers from their documents and keeps them open across messages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mailpass_common.db import Document
from mailpass_common.security import CredentialCipher
from mailpass_sender.providers.base import Provider
from mailpass_sender.providers.mailgun import MailgunProvider
from mailpass_sender.providers.sendgrid import SendGridProvider
from mailpass_sender.providers.ses import SesProvider
from mailpass_sender.providers.smtp import SmtpProvider
from mailpass_sender.settings import SenderSettings

SANDBOX_ID = "sandbox"

Factory = Callable[[dict[str, Any], dict[str, Any], SenderSettings], Provider]


def _smtp(config: dict[str, Any], secrets: dict[str, Any], settings: SenderSettings) -> Provider:
    return SmtpProvider(
        config,
        secrets,
        max_connections=int(config.get("max_connections") or settings.smtp_max_connections),
        timeout=settings.smtp_timeout_seconds,
        idle_check_seconds=settings.smtp_idle_check_seconds,
    )


def _sandbox(config: dict[str, Any], secrets: dict[str, Any], settings: SenderSettings) -> Provider:
    """The capture server test keys and the dev stack deliver to; nothing leaves."""
    return _smtp(
        {
            "host": settings.sandbox_smtp_host,
            "port": settings.sandbox_smtp_port,
            "security": "none",
        },
        {},
        settings,
    )


# HTTP providers take their timeouts and endpoints from their own config (tests point
# base_url / endpoint_url at local servers); each keeps one HTTP client open.
FACTORIES: dict[str, Factory] = {
    "smtp": _smtp,
    "ses": lambda config, secrets, _settings: SesProvider(config, secrets),
    "sendgrid": lambda config, secrets, _settings: SendGridProvider(config, secrets),
    "mailgun": lambda config, secrets, _settings: MailgunProvider(config, secrets),
    SANDBOX_ID: _sandbox,
}


def build_provider(doc: Document, cipher: CredentialCipher, settings: SenderSettings) -> Provider:
    """A new provider for a provider document (the caller closes it)."""
    factory = FACTORIES.get(doc["type"])
    if factory is None:
        raise LookupError(f"provider type {doc['type']!r} is not supported")
    return factory(doc.get("config", {}), cipher.decrypt(doc.get("secret")), settings)


class ProviderPool:
    """One open provider per provider document version, shared by all deliveries."""

    def __init__(self, settings: SenderSettings, cipher: CredentialCipher) -> None:
        self._settings = settings
        self._cipher = cipher
        self._open: dict[str, tuple[int, Provider]] = {}
        self._sandbox = _sandbox({}, {}, settings)

    @property
    def sandbox(self) -> Provider:
        return self._sandbox

    async def get(self, doc: Document) -> Provider:
        if doc["type"] == SANDBOX_ID:
            return self._sandbox
        version = int(doc.get("version", 0))
        cached = self._open.get(doc["_id"])
        if cached is not None and cached[0] == version:
            return cached[1]
        provider = build_provider(doc, self._cipher, self._settings)
        if cached is not None:
            await cached[1].close()
        self._open[doc["_id"]] = (version, provider)
        return provider

    async def close(self) -> None:
        for _, provider in self._open.values():
            await provider.close()
        self._open.clear()
        await self._sandbox.close()
