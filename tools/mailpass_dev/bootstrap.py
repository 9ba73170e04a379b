"""Creates the ``dev`` account, an API key with every permission (``console`` included),
a default provider pointing at the capture server, and the account's owner (a console
user with a password and a TOTP secret); reuses them on later starts."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import pyotp

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database, ensure_indexes
from mailpass_common.providers import service as providers
from mailpass_common.tenants import accounts, api_keys, members, users
from mailpass_common.tenants.api_keys import Permission

OWNER_EMAIL = "owner@mailpass.test"


@dataclass(frozen=True)
class DevOwner:
    email: str
    password: str
    totp_secret: str

    def code(self) -> str:
        return pyotp.TOTP(self.totp_secret).now()


@dataclass(frozen=True)
class DevAccount:
    account_id: str
    api_key: str
    owner: DevOwner | None = None


def read_owner(owner_file: Path) -> DevOwner | None:
    if not owner_file.exists():
        return None
    return DevOwner(**json.loads(owner_file.read_text()))


async def dev_owner(
    db: Database, totp: CredentialCipher, account_id: str, owner_file: Path
) -> DevOwner:
    """The dev account's owner; its password and TOTP secret are kept in ``owner_file``
    (the database has only their hash and ciphertext)."""
    kept = read_owner(owner_file)
    user = await users.get_user_by_email(db, OWNER_EMAIL)
    if kept is None or user is None:
        kept = DevOwner(OWNER_EMAIL, secrets.token_urlsafe(12), users.new_totp_secret())
        if user is None:
            user = await users.create_user(db, OWNER_EMAIL, name="Dev Owner")
        await users.set_password(db, user["_id"], kept.password)
        await users.set_totp(db, totp, user["_id"], kept.totp_secret)
        owner_file.parent.mkdir(parents=True, exist_ok=True)
        owner_file.write_text(json.dumps(kept.__dict__) + "\n")
        owner_file.chmod(0o600)
    if await members.get_member(db, account_id, user["_id"]) is None:
        await members.add_member(db, account_id, user["_id"], members.Role.OWNER, source="cli")
    return kept


async def bootstrap(
    db: Database,
    cipher: CredentialCipher,
    *,
    key_file: Path,
    smtp_host: str,
    smtp_port: int,
    totp: CredentialCipher | None = None,
) -> DevAccount:
    """``totp``: also make the account's owner (its file beside ``key_file``)."""
    await ensure_indexes(db)
    account = await accounts.get_account_by_name(db, "dev")
    if account is None:
        account = await accounts.create_account(db, "dev")
    account_id = account["_id"]
    if await providers.get_default_provider(db, account_id) is None:
        await providers.add_provider(
            db,
            cipher,
            account_id=account_id,
            name="dev-capture",
            type="smtp",
            config={"host": smtp_host, "port": smtp_port, "security": "none"},
            from_email="dev@mailpass.local",
            from_name="MailPass Dev",
            default=True,
        )
    owner = None
    if totp is not None:
        owner = await dev_owner(db, totp, account_id, key_file.with_name("dev-owner.json"))
    # The key is stored only as a hash, so the clear key is kept in .data for later starts.
    if key_file.exists():
        key = key_file.read_text().strip()
        found = await api_keys.authenticate(db, key)
        if found is not None and found.account_id == account_id:
            return DevAccount(account_id, key, owner)
    new = await api_keys.create_api_key(db, account_id, list(Permission), name="dev")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(new.key + "\n")
    key_file.chmod(0o600)
    return DevAccount(account_id, new.key, owner)
