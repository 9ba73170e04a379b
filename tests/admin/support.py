"""Accounts with keys, and an SMTP server that requires AUTH, for the admin tests."""

from __future__ import annotations

from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.support.services import free_port
from tests.support.smtp import CapturingHandler, Received

FROM = "noreply@acme.example.com"
SMTP_USER = "mailer"
SMTP_PASSWORD = "correct horse battery staple"


def smtp_body(port: int, name: str = "relay", **extra: Any) -> dict[str, Any]:
    """A provider body for a local SMTP server without TLS."""
    config = {"host": "127.0.0.1", "port": port, "security": "none", **extra.pop("config", {})}
    return {"name": name, "type": "smtp", "config": config, "from_email": FROM, **extra}


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
