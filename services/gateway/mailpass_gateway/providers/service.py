"""An account's providers as the API and the console change them (:class:`AccountProviders`:
config validated, its destinations checked, the provider cache forgotten after every
change, in one place), and what their routes share: the credential cipher, the
operator's provider rules, lookups and error shapes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Annotated, Any

from fastapi import Depends

from mailpass_common.audit.record import record
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.providers import service as providers
from mailpass_common.providers.config import ProviderConfigError, ProviderFields, ValidatedConfig
from mailpass_common.providers.delivery.check import check_connection, check_options
from mailpass_common.providers.delivery.options import DeliveryOptions
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.providers.registry import check_targets, validate_config
from mailpass_common.providers.service import ProviderCache
from mailpass_gateway.deps import Settings
from mailpass_gateway.errors import ApiError


@lru_cache(maxsize=4)
def _cipher_for(secret: str, previous: tuple[str, ...]) -> CredentialCipher:
    return CredentialCipher(secret, previous)


async def get_cipher(settings: Settings) -> CredentialCipher:
    return _cipher_for(settings.secret_key.get_secret_value(), settings.previous_secrets())


async def get_options(settings: Settings) -> DeliveryOptions:
    """How the provider check connects, with the operator's egress and SES rules, which
    also judge where a saved provider may point."""
    return check_options(settings)


Cipher = Annotated[CredentialCipher, Depends(get_cipher)]
Options = Annotated[DeliveryOptions, Depends(get_options)]


def validation_error(errors: list[dict[str, str]]) -> ApiError:
    fields = ", ".join(sorted({e["field"] for e in errors}))
    return ApiError(ErrorCode.VALIDATION_ERROR, f"Invalid request: {fields}", errors)


def config_error(exc: ProviderConfigError) -> ApiError:
    return validation_error(exc.errors)


def name_taken(name: str) -> ApiError:
    return validation_error(
        [{"field": "name", "message": f"a provider named {name!r} already exists"}]
    )


async def run_check(
    db: Database, cipher: CredentialCipher, doc: ProviderDocument, options: DeliveryOptions
) -> str | None:
    """Check the provider as the sender would connect (sending nothing, within the egress
    policy) and keep the result on it: None when it accepted, else its reply."""
    error = await check_connection(doc, cipher, options)
    await providers.record_check(db, doc["account_id"], doc["_id"], error)
    return error


async def owned_provider(db: Database, account_id: str, provider_id: str) -> ProviderDocument:
    """The account's provider; another account's is as absent as one that never existed."""
    doc = await providers.get_provider(db, account_id, provider_id)
    if doc is None:
        raise not_found(provider_id)
    return doc


def not_found(provider_id: str) -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, f"No provider {provider_id!r} in this account")


_AUDITED = (
    "name",
    "type",
    "config",
    "from_email",
    "from_name",
    "hourly_limit",
    "daily_limit",
    "fallback_priority",
    "is_default",
)


def audit_state(doc: ProviderDocument | None) -> dict[str, Any] | None:
    """A provider as the audit log keeps it: never its credentials (stored apart, in
    ``secrets``), only its plain settings."""
    if doc is None:
        return None
    return {"id": doc["_id"], **{f: doc.get(f) for f in _AUDITED}}


@dataclass(frozen=True)
class AccountProviders:
    """One account's providers, changed: every change forgets the account in this process's
    provider cache once written (the other processes see it within the cache's TTL) and
    is recorded in the audit log. Refusals are ``ProviderConfigError`` (naming fields),
    ``ProviderNameTaken`` and NOT_FOUND (:func:`not_found`)."""

    db: Database
    cipher: CredentialCipher
    options: DeliveryOptions
    cache: ProviderCache
    account_id: str

    async def checked_config(self, type_: str, values: Mapping[str, Any]) -> ValidatedConfig:
        """A new provider's config, valid and pointing only where providers may connect."""
        checked = validate_config(type_, values)
        await check_targets(type_, checked, self.options)
        return checked

    async def add(
        self, fields: ProviderFields, type_: str, checked: ValidatedConfig, *, default: bool
    ) -> ProviderDocument:
        doc = await providers.add_provider(
            self.db,
            self.cipher,
            account_id=self.account_id,
            name=fields.name,
            type=type_,
            config=checked.config,
            secrets_=checked.secrets,
            from_email=fields.from_email,
            from_name=fields.from_name,
            hourly_limit=fields.hourly_limit,
            daily_limit=fields.daily_limit,
            fallback_priority=fields.fallback_priority,
            default=default,
        )
        self.cache.forget(self.account_id)
        await self._audit("provider.created", doc["_id"], None, doc)
        return doc

    async def _audit(
        self,
        action: str,
        provider_id: str,
        before: ProviderDocument | None,
        after: ProviderDocument | None,
    ) -> None:
        await record(
            self.db,
            account_id=self.account_id,
            action=action,
            resource_type="provider",
            resource_id=provider_id,
            before=audit_state(before),
            after=audit_state(after),
        )

    async def update(
        self, doc: ProviderDocument, changes: Mapping[str, Any], config: Mapping[str, Any] | None
    ) -> ProviderDocument:
        """Apply common field changes and a partial config (checked like a new one); the
        provider as it is now, NOT_FOUND when it is gone."""

        async def check_merged(merged: ValidatedConfig) -> None:
            await check_targets(doc["type"], merged, self.options)

        try:
            updated = await providers.update_provider(
                self.db, self.cipher, self.account_id, doc["_id"], changes, config, check_merged
            )
        finally:
            self.cache.forget(self.account_id)
        if updated is None:
            raise not_found(doc["_id"])
        # Credentials are never shown: a change of them shows as the config's other fields
        # unchanged, and the action says the provider was updated.
        await self._audit("provider.updated", doc["_id"], doc, updated)
        return updated

    async def make_default(self, provider_id: str) -> None:
        """Make it the provider ``/mail/send`` uses; NOT_FOUND when there is none."""
        before = await providers.get_provider(self.db, self.account_id, provider_id)
        try:
            made = await providers.set_default_provider(self.db, self.account_id, provider_id)
        finally:
            self.cache.forget(self.account_id)
        if not made:
            raise not_found(provider_id)
        if before is not None and not before.get("is_default"):
            after = await providers.get_provider(self.db, self.account_id, provider_id)
            await self._audit("provider.default_set", provider_id, before, after)

    async def delete(self, provider_id: str) -> None:
        """Delete it (deleting the default leaves the account without one); NOT_FOUND when
        there is none."""
        before = await providers.get_provider(self.db, self.account_id, provider_id)
        try:
            deleted = await providers.delete_provider(self.db, self.account_id, provider_id)
        finally:
            self.cache.forget(self.account_id)
        if not deleted:
            raise not_found(provider_id)
        await self._audit("provider.deleted", provider_id, before, None)
