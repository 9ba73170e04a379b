"""Creates the ``dev`` account, an API key with every permission (``console`` included)
and a default provider pointing at the capture server; reuses them on later starts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database, ensure_indexes
from mailpass_common.providers import service as providers
from mailpass_common.tenants import accounts, api_keys
from mailpass_common.tenants.api_keys import Permission


@dataclass(frozen=True)
class DevAccount:
    account_id: str
    api_key: str


async def bootstrap(
    db: Database, cipher: CredentialCipher, *, key_file: Path, smtp_host: str, smtp_port: int
) -> DevAccount:
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
    # The key is stored only as a hash, so the clear key is kept in .data for later starts.
    if key_file.exists():
        key = key_file.read_text().strip()
        found = await api_keys.authenticate(db, key)
        if found is not None and found.account_id == account_id:
            return DevAccount(account_id, key)
    new = await api_keys.create_api_key(db, account_id, list(Permission), name="dev")
    key_file.parent.mkdir(parents=True, exist_ok=True)
    key_file.write_text(new.key + "\n")
    key_file.chmod(0o600)
    return DevAccount(account_id, new.key)
