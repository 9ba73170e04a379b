"""The real ``mailpass`` console script against the test database, then its key in use."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Collections, Database
from tests.admin.support import SMTP_PASSWORD, SMTP_USER, AuthSmtpServer
from tests.support.processes import process_env
from tests.support.stack import running_gateway, running_sender

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

MAILPASS = Path(sys.executable).with_name("mailpass")


@dataclass(frozen=True)
class Run:
    code: int
    out: str
    err: str


async def mailpass(env: dict[str, Any], *args: str, **extra_env: str) -> Run:
    process = await asyncio.create_subprocess_exec(
        str(MAILPASS),
        *args,
        env=process_env(env, **extra_env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return Run(process.returncode, out.decode(), err.decode())


CACHE_TTL = 1.0


async def seconds_until_refused(api: httpx.AsyncClient, auth: dict[str, str]) -> float:
    """How long until requests with a revoked key are refused (401)."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    while (await api.get("/api/v1/providers", headers=auth)).status_code != 401:
        assert loop.time() - started < 10, "a revoked key was still accepted after 10 s"
        await asyncio.sleep(0.05)
    return loop.time() - started


async def test_platform_team_sets_up_an_account_that_then_sends(
    service_env: dict[str, Any], db: Database, auth_smtp: AuthSmtpServer
) -> None:
    env = service_env
    assert (await mailpass(env, "accounts", "create", "acme")).code == 0

    created = await mailpass(
        env, "keys", "create", "--account", "acme", "--permission", "mail",
        "--permission", "providers", "--name", "ci",
    )  # fmt: skip
    assert created.code == 0, created.err
    key = created.out.strip().splitlines()[-1]
    assert key.startswith("mp_live_") and len(key) == len("mp_live_") + 32

    smtp = (
        "--type",
        "smtp",
        "--host",
        "127.0.0.1",
        "--port",
        str(auth_smtp.port),
        "--security",
        "none",
        "--username",
        SMTP_USER,
    )
    added, wrong = await asyncio.gather(
        mailpass(
            env, "providers", "add", "--account", "acme", "--name", "relay", *smtp,
            "--password-env", "RELAY_PASSWORD", "--hourly-limit", "50",
            "--from-email", "noreply@acme.example.com", "--from-name", "Acme", "--default",
            RELAY_PASSWORD=SMTP_PASSWORD,
        ),
        mailpass(
            env, "providers", "add", "--account", "acme", "--name", "wrong", *smtp,
            "--password-env", "WRONG_PASSWORD", "--fallback-priority", "1",
            "--from-email", "noreply@acme.example.com", WRONG_PASSWORD="not-it",
        ),
    )  # fmt: skip
    assert added.code == 0, added.err
    assert wrong.code == 0, wrong.err

    ok, refused, listed, keys = await asyncio.gather(
        mailpass(env, "providers", "test", "--account", "acme", "relay"),
        mailpass(env, "providers", "test", "--account", "acme", "wrong"),
        mailpass(env, "providers", "list", "--account", "acme"),
        mailpass(env, "keys", "list", "--account", "acme"),
    )
    assert ok.code == 0 and "ok" in ok.out, ok.err
    assert refused.code == 1
    assert "535" in refused.err and "Authentication credentials invalid" in refused.err

    assert listed.code == 0
    rows = [line.split("\t") for line in listed.out.strip().splitlines()[1:]]
    assert sorted((r[1], r[3]) for r in rows) == [("relay", "yes"), ("wrong", "no")]
    assert SMTP_PASSWORD not in listed.out and "not-it" not in listed.out
    stored = await db[Collections.PROVIDERS].find_one({"name": "relay"})
    assert stored is not None and SMTP_PASSWORD not in str(stored)
    assert stored["hourly_limit"] == 50 and stored["config"]["username"] == SMTP_USER

    [row] = [line.split("\t") for line in keys.out.strip().splitlines()[1:]]
    key_id = row[0]
    assert key_id.startswith("key_") and row[1] == key[:12] and row[2] == "ci"
    assert key not in keys.out

    # The key works against the real gateway, through the provider the CLI added.
    async with (
        running_sender(env, management_port=0),
        running_gateway(env, cache_ttl_seconds=CACHE_TTL) as api,
    ):
        auth = {"Authorization": f"Bearer {key}"}
        sent = await api.post(
            "/api/v1/mail/send",
            json={"to": "user@example.com", "subject": "Hello", "text": "Hello World"},
            headers=auth,
        )
        assert sent.status_code == 200, sent.text
        assert sent.json()["data"]["status"] == "sent"
        assert sent.json()["data"]["from"] == "noreply@acme.example.com"
        assert len(auth_smtp.received) == 1

        revoked = await mailpass(env, "keys", "revoke", "--account", "acme", key_id)
        assert revoked.code == 0, revoked.err
        # Revoked by another process: refused once the gateway's cached entry expires.
        assert await seconds_until_refused(api, auth) <= CACHE_TTL + 0.5

    switched = await mailpass(env, "providers", "set-default", "--account", "acme", "wrong")
    assert switched.code == 0, switched.err
    default = await db[Collections.PROVIDERS].find_one({"is_default": True})
    assert default is not None and default["name"] == "wrong"


async def test_clear_errors_and_exit_1(service_env: dict[str, Any], db: Database) -> None:
    env = service_env
    unknown_account = [
        ("keys", "create", "--account", "ghost", "--permission", "mail"),
        ("providers", "test", "--account", "ghost", "relay"),
    ]
    # Independent commands run side by side: each start of the CLI costs about a second.
    runs = await asyncio.gather(*(mailpass(env, *args) for args in unknown_account))
    for args, run in zip(unknown_account, runs, strict=True):
        assert run.code == 1, args
        assert "unknown account 'ghost'" in run.err and "Traceback" not in run.err, args

    assert (await mailpass(env, "accounts", "create", "acme")).code == 0
    smtp = ("--type", "smtp", "--host", "127.0.0.1", "--port", "2525")
    failures = [
        (("providers", "test", "--account", "acme", "nothing"), "has no provider 'nothing'"),
        (("keys", "revoke", "--account", "acme", "key_nothing"), "no API key 'key_nothing'"),
        (
            ("providers", "add", "--account", "acme", "--name", "r", *smtp, "--username", "u",
             "--password-env", "UNSET_PASSWORD_VARIABLE", "--from-email", "a@acme.example.com"),
            "UNSET_PASSWORD_VARIABLE",
        ),
        (
            ("providers", "add", "--account", "acme", "--name", "r", *smtp,
             "--from-email", "not-an-address"),
            "from_email",
        ),
        (
            ("providers", "add", "--account", "acme", "--name", "r", "--type", "mailgun",
             "--domain", "mg.example.com", "--from-email", "a@acme.example.com"),
            "config.api_key",
        ),
    ]  # fmt: skip
    runs = await asyncio.gather(*(mailpass(env, *args) for args, _ in failures))
    for (args, message), run in zip(failures, runs, strict=True):
        assert run.code == 1, (args, run.out, run.err)
        assert message in run.err and "Traceback" not in run.err, (args, run.err)
    assert await db[Collections.PROVIDERS].count_documents({}) == 0
