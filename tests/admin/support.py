"""Accounts with keys, and an SMTP server that requires AUTH, for the admin tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from mailpass_common import accounts
from mailpass_common.db import Database
from mailpass_common.security import CredentialCipher, Permission
from mailpass_common.settings import CommonSettings
from tests.support.services import free_port
from tests.support.smtp import CapturingHandler, Received


@dataclass(frozen=True)
class Tenant:
    account_id: str
    key: str

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}


async def make_tenant(
    db: Database, name: str, permissions: tuple[str, ...] = Permission.ALL, *, test: bool = False
) -> Tenant:
    account = await accounts.get_account_by_name(db, name) or await accounts.create_account(
        db, name
    )
    new = await accounts.create_api_key(db, account["_id"], permissions, test=test)
    return Tenant(account["_id"], new.key)


def cipher_for(env: dict[str, Any]) -> CredentialCipher:
    return CredentialCipher(CommonSettings(**env).secret_key.get_secret_value())


def smtp_body(port: int, name: str = "relay", **extra: Any) -> dict[str, Any]:
    """A provider body for a local SMTP server without TLS."""
    config = {"host": "127.0.0.1", "port": port, "security": "none", **extra.pop("config", {})}
    return {"name": name, "type": "smtp", "config": config, **extra}


class AuthSmtpServer:
    """A real SMTP server that requires AUTH (PLAIN/LOGIN over plain text, for tests)."""

    def __init__(self, username: str, password: str) -> None:
        self.handler = CapturingHandler()
        self.port = free_port()

        def authenticator(
            server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
        ) -> AuthResult:
            ok = (
                isinstance(data, LoginPassword)
                and data.login == username.encode()
                and data.password == password.encode()
            )
            return AuthResult(success=ok, handled=False)

        self._controller = Controller(
            self.handler,
            hostname="127.0.0.1",
            port=self.port,
            authenticator=authenticator,
            auth_required=True,
            auth_require_tls=False,
        )

    @property
    def received(self) -> list[Received]:
        return self.handler.received

    def start(self) -> AuthSmtpServer:
        self._controller.start()
        return self

    def stop(self) -> None:
        self._controller.stop()
