"""Session-wide real services: the MongoDB wire server and RabbitMQ."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from mailpass_common.platform.db import Database, connect, ensure_indexes
from mailpass_common.platform.settings import CommonSettings
from tests.support.dns import DnsServer, TestDns, start_dns_server
from tests.support.egress import LOCAL_PROVIDER_RULES
from tests.support.services import mongodb, rabbitmq_url
from tests.support.smtp import SmtpServer
from tests.support.stack import delete_topology


def pytest_configure(config: pytest.Config) -> None:
    # Settings built from the environment (the CLI and services started as processes, a
    # few settings tests) run as development, as under `make test`; tests of the
    # production rules remove it.
    os.environ.setdefault("ENVIRONMENT", "development")


@pytest.fixture(scope="session")
def mongo_url() -> Iterator[str]:
    with mongodb() as url:
        yield url


@pytest.fixture(scope="session")
def amqp_url() -> str:
    return rabbitmq_url()


@pytest.fixture
async def service_env(mongo_url: str, amqp_url: str) -> AsyncIterator[dict[str, Any]]:
    """Settings fields that isolate one test: its own database and its own queue names."""
    tag = secrets.token_hex(4)
    env = {
        "mongodb_url": mongo_url,
        "mongodb_database": f"t_{tag}",
        "amqp_url": amqp_url,
        "amqp_prefix": f"mailpass-test-{tag}",
        "message_id_domain": "test.mailpass.local",
        # Any free port: tests run beside each other and beside `make run`.
        "management_port": 0,
        # Local servers stand in for relays and APIs (see tests.support.egress).
        **LOCAL_PROVIDER_RULES,
    }
    yield env
    await delete_topology(amqp_url, str(env["amqp_prefix"]))


@pytest.fixture
async def db(service_env: dict[str, Any]) -> AsyncIterator[Database]:
    client, database = connect(CommonSettings(**service_env))
    await ensure_indexes(database)
    yield database
    await client.drop_database(database.name)
    await client.close()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    """A real SMTP server (aiosmtpd) on a free port that keeps what it receives."""
    server = SmtpServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def dns_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DnsServer]:
    """A real DNS server (unbound) for the session; tests use ``dns``."""
    server = start_dns_server(Path(tmp_path_factory.mktemp("dns")))
    yield server
    server.stop()


@pytest.fixture
def dns(dns_server: DnsServer) -> Iterator[TestDns]:
    """The session's DNS server; the records a test adds are removed after it."""
    test_dns = TestDns(dns_server)
    yield test_dns
    test_dns.clear()
