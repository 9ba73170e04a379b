"""Builders the tests share: tenants (an account, a key, a provider), ciphers, providers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.providers import service as providers
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.tenants import accounts, api_keys
from mailpass_common.tenants.api_keys import Permission


@dataclass(frozen=True)
class Tenant:
    account_id: str
    key: str
    provider: ProviderDocument | None = None

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


def cipher(env: dict[str, Any]) -> CredentialCipher:
    """The credential cipher the services of a test use (same SECRET_KEY)."""
    settings = CommonSettings(**env)
    return CredentialCipher(settings.secret_key.get_secret_value(), settings.previous_secrets())


def smtp_config(port: int) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "security": "none"}


async def make_account(db: Database, name: str = "acme") -> str:
    found = await accounts.get_account_by_name(db, name)
    return str((found or await accounts.create_account(db, name))["_id"])


async def add_provider(
    db: Database,
    env: dict[str, Any],
    account_id: str,
    *,
    name: str,
    type: str = "smtp",
    config: dict[str, Any],
    secrets: dict[str, Any] | None = None,
    default: bool = False,
    fallback_priority: int | None = None,
    hourly_limit: int | None = None,
    daily_limit: int | None = None,
    from_email: str | None = "noreply@acme.test",
    from_name: str | None = None,
) -> ProviderDocument:
    return await providers.add_provider(
        db,
        cipher(env),
        account_id=account_id,
        name=name,
        type=type,
        config=config,
        secrets_=secrets,
        from_email=from_email,
        from_name=from_name,
        hourly_limit=hourly_limit,
        daily_limit=daily_limit,
        fallback_priority=fallback_priority,
        default=default,
    )


async def make_tenant(
    db: Database,
    env: dict[str, Any],
    name: str,
    *,
    smtp_port: int | None,
    permissions: tuple[str, ...] = (Permission.MAIL,),
    test_key: bool = False,
    from_email: str | None = "noreply@acme.example.com",
    hourly_limit: int | None = None,
) -> Tenant:
    """An account sending mail: a default SMTP provider at ``smtp_port`` (none if None)
    and one API key."""
    account_id = await make_account(db, name)
    provider = None
    if smtp_port is not None:
        provider = await add_provider(
            db,
            env,
            account_id,
            name="local",
            config=smtp_config(smtp_port),
            from_email=from_email,
            from_name="Acme",
            hourly_limit=hourly_limit,
            default=True,
        )
    key = await api_keys.create_api_key(db, account_id, permissions, test=test_key)
    return Tenant(account_id, key.key, provider)


async def make_admin(
    db: Database,
    name: str,
    permissions: tuple[str, ...] = tuple(Permission),
    *,
    test: bool = False,
) -> Tenant:
    """An account and a key with every permission (or those given): the admin tests'."""
    account_id = await make_account(db, name)
    new = await api_keys.create_api_key(db, account_id, permissions, test=test)
    return Tenant(account_id, new.key)
