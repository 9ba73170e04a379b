"""mailpass-smtp in the test's event loop, with the real sender behind it: a relay (the
account's provider) and the sandbox capture are real SMTP servers."""

from __future__ import annotations

import contextlib
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mailpass_common.db import Database
from mailpass_smtp.app import SUBMISSION, SUBMISSIONS, SubmissionService
from mailpass_smtp.settings import SubmissionSettings
from tests.support.smtp import SmtpServer
from tests.support.stack import running_sender
from tests.support.tenants import Tenant, make_tenant
from tests.support.tls import self_signed_cert


@dataclass
class Submission:
    service: SubmissionService
    relay: SmtpServer
    sandbox: SmtpServer
    tenant: Tenant
    db: Database

    @property
    def port(self) -> int:
        """587's listener (STARTTLS required)."""
        return self.service.serving.server(SUBMISSION).port

    @property
    def tls_port(self) -> int:
        """465's listener (implicit TLS)."""
        return self.service.serving.server(SUBMISSIONS).port


def client_context() -> ssl.SSLContext:
    """The tests' certificate is self-signed: clients take it as it is."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def submission_settings(
    env: dict[str, Any], directory: Path, **overrides: Any
) -> SubmissionSettings:
    cert = self_signed_cert(directory)
    return SubmissionSettings(
        **{
            **env,
            "smtp_host": "127.0.0.1",
            "smtp_submission_port": 0,
            "smtp_submissions_port": 0,
            "smtp_tls_cert_file": str(cert.cert_path),
            "smtp_tls_key_file": str(cert.key_path),
            "smtp_hostname": "smtp.mailpass.test",
            **overrides,
        }
    )


@contextlib.asynccontextmanager
async def running_submission(settings: SubmissionSettings) -> AsyncIterator[SubmissionService]:
    service = SubmissionService(settings)
    await service.start()
    try:
        yield service
    finally:
        await service.stop()


@pytest.fixture
def relay() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def sandbox() -> Iterator[SmtpServer]:
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture
def submission_overrides() -> dict[str, Any]:
    """Settings a test module changes (small limits)."""
    return {}


@pytest.fixture
async def submission(
    db: Database,
    service_env: dict[str, Any],
    relay: SmtpServer,
    sandbox: SmtpServer,
    tmp_path: Path,
    submission_overrides: dict[str, Any],
) -> AsyncIterator[Submission]:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=relay.port)
    settings = submission_settings(service_env, tmp_path, **submission_overrides)
    async with (
        running_sender(service_env, management_port=0, sandbox_smtp_port=sandbox.port),
        running_submission(settings) as service,
    ):
        yield Submission(service, relay, sandbox, tenant, db)
