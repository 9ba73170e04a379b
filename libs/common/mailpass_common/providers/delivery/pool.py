"""Builds providers from their documents and keeps them open across messages."""

from __future__ import annotations

from datetime import UTC, datetime

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.providers.delivery.base import Provider
from mailpass_common.providers.delivery.options import DeliveryOptions
from mailpass_common.providers.delivery.smtp import SmtpProvider
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.providers.registry import plugin_of
from mailpass_common.providers.types.smtp import SmtpConfig

SANDBOX_ID = "sandbox"
# What test keys' messages are delivered through: no provider of the account, the capture
# server (:func:`sandbox_provider`). Never stored; only its id, type and version are read.
SANDBOX_DOCUMENT: ProviderDocument = {
    "_id": SANDBOX_ID,
    "account_id": "",
    "name": SANDBOX_ID,
    "type": SANDBOX_ID,
    "config": {},
    "secret": "",
    "secret_fields": [],
    "from_email": None,
    "from_name": None,
    "hourly_limit": None,
    "daily_limit": None,
    "fallback_priority": None,
    "is_default": False,
    "version": 0,
    "created_at": datetime(1970, 1, 1, tzinfo=UTC),
    "updated_at": datetime(1970, 1, 1, tzinfo=UTC),
}


def sandbox_provider(options: DeliveryOptions) -> Provider:
    """The capture server test keys and the dev stack deliver to; nothing leaves. It is
    the operator's own address, so no egress policy applies to it."""
    return SmtpProvider(
        SmtpConfig(host=options.sandbox_smtp_host, port=options.sandbox_smtp_port, security="none"),
        max_connections=options.smtp_max_connections,
        timeout=options.smtp_timeout_seconds,
        idle_check_seconds=options.smtp_idle_check_seconds,
        egress=None,
    )


def build_provider(
    doc: ProviderDocument, cipher: CredentialCipher, options: DeliveryOptions
) -> Provider:
    """A new provider for a provider document (the caller closes it): its type's factory
    with the typed config. LookupError for an unknown type, ValueError for a config that
    is not (or no longer) valid."""
    if doc["type"] == SANDBOX_ID:
        return sandbox_provider(options)
    plugin = plugin_of(doc["type"])
    return plugin.provider(doc.get("config") or {}, cipher.decrypt(doc.get("secret")), options)


class ProviderPool:
    """One open provider per provider document version, shared by all deliveries."""

    def __init__(self, options: DeliveryOptions, cipher: CredentialCipher) -> None:
        self._options = options
        self._cipher = cipher
        self._open: dict[str, tuple[int, Provider]] = {}

    async def get(self, doc: ProviderDocument) -> Provider:
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
