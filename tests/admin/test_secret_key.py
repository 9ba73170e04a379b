"""SECRET_KEY in the running system: every program refuses to start without a real one,
and a rotation keeps links and credentials working (``mailpass secrets rotate``)."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest

from mailpass_common.messages.signed_links import TrackingSigner
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Collections, Database
from mailpass_common.providers import service as providers
from tests.admin.test_cli import mailpass
from tests.support.processes import BIN
from tests.support.tenants import make_account, smtp_config
from tests.tracking.support import client_from, running_tracker

OLD, NEW, UNKNOWN = "o" * 40, "n" * 40, "u" * 40
TARGET = "https://shop.example.com/orders/42"

PROGRAMS = [
    ("mailpass-gateway",),
    ("mailpass-sender",),
    ("mailpass-tracker",),
    ("mailpass-scheduler", "flush"),
    ("mailpass", "db", "init"),
]


async def start(argv: tuple[str, ...], **env: str) -> tuple[int, str]:
    """Runs a program as a deployment would, with only ``env`` (and PATH) set."""
    process = await asyncio.create_subprocess_exec(
        str(BIN / argv[0]),
        *argv[1:],
        env={"PATH": os.environ["PATH"], "HOME": os.environ.get("HOME", "/tmp"), **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(process.communicate(), 60)
    except TimeoutError:
        process.kill()
        await process.wait()
        pytest.fail(f"{argv[0]} started without a SECRET_KEY")
    return process.returncode or 0, out.decode()


@pytest.mark.parametrize("argv", PROGRAMS, ids=" ".join)
async def test_no_program_starts_without_a_real_secret_key(argv: tuple[str, ...]) -> None:
    deployment = {
        "MONGODB_URL": "mongodb://mailpass:db-password-7@127.0.0.1:1/",
        "AMQP_URL": "amqp://mailpass:mq-password-7@127.0.0.1:1/",
        "STARTUP_TIMEOUT_SECONDS": "1",
    }
    code, out = await start(argv, **deployment)
    assert code == 2, out
    assert f"{argv[0]}: configuration refused: SECRET_KEY is not set" in out
    assert "Traceback" not in out and "password-7" not in out  # the values are never shown

    code, out = await start(argv, **deployment, SECRET_KEY="too-short")
    assert code == 2 and "SECRET_KEY is shorter than 32 bytes" in out, out


async def test_links_signed_with_a_rotated_out_key_redirect_while_it_is_listed(
    service_env: dict[str, Any],
) -> None:
    old_link = f"/t/c/{TrackingSigner(OLD).click_token('<m.1@test>', 0, TARGET)}"
    async with (
        running_tracker(service_env, secret_key=NEW, secret_key_previous=OLD) as base,
        client_from("127.0.0.1", base) as web,
    ):
        response = await web.get(old_link)
    assert response.status_code == 302 and response.headers["location"] == TARGET
    async with (
        running_tracker(service_env, secret_key=NEW) as base,
        client_from("127.0.0.1", base) as web,
    ):
        assert (await web.get(old_link)).status_code == 404


async def test_rotate_reencrypts_every_providers_credentials_and_can_run_again(
    service_env: dict[str, Any], db: Database
) -> None:
    async def stored(cipher: CredentialCipher, account: str, name: str) -> str:
        doc = await providers.add_provider(
            db,
            cipher,
            account_id=await make_account(db, account),
            name=name,
            type="smtp",
            config=smtp_config(2525),
            secrets_={"password": f"{name}-password"},
        )
        return str(doc["_id"])

    old_ids = [
        await stored(CredentialCipher(OLD), "acme", "a"),
        await stored(CredentialCipher(OLD), "globex", "b"),
    ]
    current = await stored(CredentialCipher(NEW), "acme", "c")
    lost = await stored(CredentialCipher(UNKNOWN), "acme", "d")
    rotating = {**service_env, "secret_key": NEW, "secret_key_previous": OLD}

    first = await mailpass(rotating, "secrets", "rotate")
    assert first.code == 1, first.err
    assert first.out.startswith(
        "re-encrypted 2, already under the current key 1, changed meanwhile 0, undecryptable 1"
    )
    assert lost in first.out
    again = await mailpass(rotating, "secrets", "rotate")
    assert "re-encrypted 0, already under the current key 3" in again.out

    only_new = CredentialCipher(NEW)
    for provider_id, name in [*zip(old_ids, "ab", strict=True), (current, "c")]:
        doc = await db[Collections.PROVIDERS].find_one({"_id": provider_id})
        assert doc is not None and doc["version"] == 1  # senders keep their connections
        assert only_new.decrypt(doc["secret"]) == {"password": f"{name}-password"}

    await db[Collections.PROVIDERS].delete_one({"_id": lost})
    done = await mailpass(rotating, "secrets", "rotate")
    assert done.code == 0, done.out
