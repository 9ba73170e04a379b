"""Tenants cannot aim providers at the platform's network or borrow its AWS identity:
the provider API, its test endpoint and the CLI under the production rules."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Collections, Database
from tests.admin.support import FROM, smtp_body
from tests.admin.test_cli import mailpass
from tests.support.listener import listener
from tests.support.stack import running_gateway
from tests.support.tenants import add_provider, make_admin

# The production defaults: public addresses, SMTP ports, official API hosts only.
STRICT = {
    "provider_allowed_networks": "",
    "provider_allowed_smtp_ports": "",
    "provider_allowed_api_hosts": "",
}
PROVIDERS = "/api/v1/providers"


@pytest.fixture
async def strict_api(service_env: dict[str, Any], db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(service_env, **STRICT) as client:
        yield client


def sendgrid(base_url: str) -> dict[str, Any]:
    return {
        "name": "grid",
        "type": "sendgrid",
        "from_email": FROM,
        "config": {"api_key": "SG.k", "base_url": base_url},
    }


def ses(**config: Any) -> dict[str, Any]:
    return {
        "name": "ses",
        "type": "ses",
        "from_email": FROM,
        "config": {"region": "eu-west-1", **config},
    }


AWS_KEYS = {"access_key_id": "AKIATEST", "secret_access_key": "aws-secret"}

REFUSED: list[tuple[dict[str, Any], str, str]] = [
    (smtp_body(25, config={"host": "127.0.0.1"}), "config.host", "loopback"),
    (
        smtp_body(25, config={"host": "localhost"}),
        "config.host",
        "localhost resolves to a loopback",
    ),
    (smtp_body(25, config={"host": "169.254.169.254"}), "config.host", "link-local"),
    (smtp_body(25, config={"host": "::ffff:169.254.169.254"}), "config.host", "link-local"),
    (smtp_body(25, config={"host": "fd00:ec2::254"}), "config.host", "private"),
    (smtp_body(25, config={"host": "10.0.0.12"}), "config.host", "private"),
    (smtp_body(25, config={"host": "100.100.100.200"}), "config.host", "CGNAT"),
    (smtp_body(6379, config={"host": "8.8.8.8"}), "config.port", "25, 465, 587, 2525"),
    (sendgrid("http://127.0.0.1:8080"), "config.base_url", "https://api.sendgrid.com"),
    (sendgrid("https://api.sendgrid.com.evil.test"), "config.base_url", "must be"),
    (sendgrid("http://api.eu.sendgrid.com"), "config.base_url", "must be"),
    (ses(endpoint_url="http://169.254.169.254", **AWS_KEYS), "config.endpoint_url", "operator"),
    (ses(), "config.access_key_id", "never with the platform's identity"),
]


@pytest.mark.parametrize(("body", "field", "reason"), REFUSED)
async def test_destinations_outside_the_policy_are_refused_naming_the_field(
    strict_api: httpx.AsyncClient, db: Database, body: dict[str, Any], field: str, reason: str
) -> None:
    acme = await make_admin(db, "acme")
    response = await strict_api.post(PROVIDERS, json=body, headers=acme.headers)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    [detail] = [d for d in error["details"] if d["field"] == field]
    assert reason in detail["message"], detail
    assert await db[Collections.PROVIDERS].count_documents({}) == 0


@pytest.mark.parametrize(
    "body",
    [
        smtp_body(587, config={"host": "8.8.8.8", "security": "starttls"}),
        smtp_body(465, config={"host": "smtp.example.com", "security": "tls"}),
        sendgrid("https://api.eu.sendgrid.com"),
        ses(**AWS_KEYS),
    ],
)
async def test_public_destinations_and_official_hosts_are_accepted(
    strict_api: httpx.AsyncClient, db: Database, body: dict[str, Any]
) -> None:
    acme = await make_admin(db, "acme")
    response = await strict_api.post(PROVIDERS, json=body, headers=acme.headers)
    assert response.status_code == 201, response.text


async def test_a_change_to_a_refused_destination_is_refused(
    strict_api: httpx.AsyncClient, db: Database
) -> None:
    acme = await make_admin(db, "acme")
    created = await strict_api.post(
        PROVIDERS, json=smtp_body(587, config={"host": "8.8.8.8"}), headers=acme.headers
    )
    provider_id = created.json()["data"]["id"]
    changed = await strict_api.patch(
        f"{PROVIDERS}/{provider_id}", json={"config": {"host": "127.0.0.1"}}, headers=acme.headers
    )
    assert changed.status_code == 400
    assert changed.json()["error"]["details"][0]["field"] == "config.host"
    stored = await db[Collections.PROVIDERS].find_one({"_id": provider_id})
    assert stored is not None and stored["config"]["host"] == "8.8.8.8"


async def test_the_provider_test_never_connects_to_a_refused_address(
    db: Database, service_env: dict[str, Any]
) -> None:
    """A provider stored before the rules (or by another route) is checked at connect time."""
    acme = await make_admin(db, "acme")
    async with listener(b"220 internal.cluster.local ESMTP\r\n") as internal:
        doc = await add_provider(
            db,
            service_env,
            acme.account_id,
            name="legacy",
            config={"host": "127.0.0.1", "port": internal.port, "security": "none"},
        )
        rules = {**STRICT, "provider_allowed_smtp_ports": str(internal.port)}
        async with running_gateway(service_env, **rules) as api:
            response = await api.post(f"{PROVIDERS}/{doc['_id']}/test", headers=acme.headers)
        assert internal.connections == 0
    assert response.status_code == 200
    assert response.json()["data"] == {
        "ok": False,
        "error": "127.0.0.1 is a loopback address, which providers may not connect to",
    }


async def test_the_provider_test_repeats_no_banner_of_another_service(
    service_env: dict[str, Any], db: Database
) -> None:
    """Even where the operator allows loopback (as the tests do), the test is no scanner
    that reads other services' greetings."""
    acme = await make_admin(db, "acme")
    async with (
        listener(b"SSH-2.0-OpenSSH_9.2p1 Debian-2 build-7\r\n") as ssh,
        running_gateway(service_env) as api,
    ):
        created = await api.post(PROVIDERS, json=smtp_body(ssh.port), headers=acme.headers)
        assert created.status_code == 201, created.text
        checked = await api.post(
            f"{PROVIDERS}/{created.json()['data']['id']}/test", headers=acme.headers
        )
        assert ssh.connections == 1
    assert checked.json()["data"] == {"ok": False, "error": "the server did not answer in SMTP"}


async def test_ambient_aws_credentials_are_an_operator_choice(
    service_env: dict[str, Any], db: Database
) -> None:
    acme = await make_admin(db, "acme")
    async with running_gateway(service_env, ses_allow_ambient_credentials=True) as api:
        response = await api.post(PROVIDERS, json=ses(), headers=acme.headers)
    assert response.status_code == 201, response.text
    assert response.json()["data"]["config"]["has_access_key_id"] is False


async def test_the_cli_applies_the_same_rules(service_env: dict[str, Any], db: Database) -> None:
    await make_admin(db, "acme")
    add = ("providers", "add", "--account", "acme", "--type", "smtp", "--name", "relay")
    common = ("--from-email", FROM, "--security", "none")
    refused = await mailpass(
        {**service_env, **STRICT}, *add, *common, "--host", "169.254.169.254", "--port", "25"
    )
    assert refused.code == 1
    assert "config.host: refused: 169.254.169.254 is a link-local address" in refused.err
    allowed = await mailpass(service_env, *add, *common, "--host", "127.0.0.1", "--port", "2525")
    assert allowed.code == 0, allowed.err
