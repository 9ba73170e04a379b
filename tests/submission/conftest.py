"""mailpass-smtp in the test's event loop. The end-to-end tests run the real sender
behind it (a relay as the account's provider, and the sandbox capture, both real SMTP
servers); the refusal tests share one service per module (no sender: nothing they send
is delivered), which keeps them to a fraction of a second each."""

from __future__ import annotations

import contextlib
import secrets
import ssl
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mailpass_common.platform.db import Database, connect, ensure_indexes
from mailpass_common.platform.settings import CommonSettings
from mailpass_smtp.app import SUBMISSION, SUBMISSIONS, SubmissionService
from mailpass_smtp.settings import SubmissionSettings
from tests.support.egress import LOCAL_PROVIDER_RULES
from tests.support.smtp import SmtpServer
from tests.support.stack import delete_topology, running_sender
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
async def submission(
    db: Database,
    service_env: dict[str, Any],
    relay: SmtpServer,
    sandbox: SmtpServer,
    tmp_path: Path,
) -> AsyncIterator[Submission]:
    """mailpass-smtp and the sender, for one test."""
    tenant = await make_tenant(db, service_env, "acme", smtp_port=relay.port)
    settings = submission_settings(service_env, tmp_path)
    async with (
        running_sender(service_env, management_port=0, sandbox_smtp_port=sandbox.port),
        running_submission(settings) as service,
    ):
        yield Submission(service, relay, sandbox, tenant, db)


@contextlib.asynccontextmanager
async def shared_stack(
    mongo_url: str, amqp_url: str, directory: Path, **overrides: Any
) -> AsyncIterator[Submission]:
    """mailpass-smtp alone, on a database of its own (the relay never hears from it)."""
    tag = secrets.token_hex(4)
    env = {
        "mongodb_url": mongo_url,
        "mongodb_database": f"t_{tag}",
        "amqp_url": amqp_url,
        "amqp_prefix": f"mailpass-test-{tag}",
        "message_id_domain": "test.mailpass.local",
        "management_port": 0,
        **LOCAL_PROVIDER_RULES,
    }
    client, db = connect(CommonSettings(**env))
    await ensure_indexes(db)
    relay = SmtpServer().start()
    try:
        tenant = await make_tenant(db, env, "acme", smtp_port=relay.port)
        async with running_submission(submission_settings(env, directory, **overrides)) as service:
            yield Submission(service, relay, relay, tenant, db)
    finally:
        relay.stop()
        await client.drop_database(db.name)
        await client.close()
        await delete_topology(amqp_url, str(env["amqp_prefix"]))
