"""`make run` prints the console's address and a one-time sign-in link for the dev
account (the dev stack's mailbox process prints the banner), and the link works."""

from __future__ import annotations

import asyncio
import os
import re
import sys
from pathlib import Path
from typing import Any

import httpx

from mailpass_common.platform.db import Database
from tests.console.support import csrf_token
from tests.support.services import free_port

MAILPASS_DEV = Path(sys.executable).with_name("mailpass-dev")


async def banner(env: dict[str, Any], data_dir: Path, gateway_port: int) -> str:
    process = await asyncio.create_subprocess_exec(
        str(MAILPASS_DEV),
        "mailbox",
        "--data-dir",
        str(data_dir),
        "--port",
        str(free_port()),
        env={
            **os.environ,
            "MONGODB_URL": env["mongodb_url"],
            "MONGODB_DATABASE": env["mongodb_database"],
            "GATEWAY_PORT": str(gateway_port),
        },
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    assert process.stdout is not None
    lines: list[str] = []
    try:
        async with asyncio.timeout(60):
            while not any(line.startswith("====") for line in lines[1:]):
                line = (await process.stdout.readline()).decode()
                assert line, "the dev stack exited before printing its banner"
                if line.startswith("====") or lines:
                    lines.append(line)
    finally:
        process.terminate()
        await process.wait()
    return "".join(lines)


async def test_the_dev_banner_prints_the_console_and_a_working_sign_in_link(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any], tmp_path: Path
) -> None:
    port = console.base_url.port
    assert port is not None
    text = await banner(service_env, tmp_path, port)
    assert f"console   http://127.0.0.1:{port}/console" in text
    found = re.search(rf"(http://127\.0\.0\.1:{port}/console/link/[\w-]+)", text)
    assert found, text
    page = await console.get(found.group(1))
    assert page.status_code == 200 and "Sign in to dev" in page.text
    signed_in = await console.post(found.group(1), data={"csrf_token": csrf_token(page)})
    assert signed_in.status_code == 303
    overview = await console.get("/console/overview")
    assert overview.status_code == 200 and "dev-capture" in overview.text
    assert (tmp_path / "dev-api-key").read_text().startswith("mp_live_")


async def test_the_dev_banner_tells_how_to_sign_in_as_the_dev_owner(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, Any], tmp_path: Path
) -> None:
    port = console.base_url.port
    assert port is not None
    text = await banner(service_env, tmp_path, port)
    found = re.search(r"sign in as (\S+) \(owner of dev\), password (\S+),", text)
    assert found, text
    email, password = found.group(1), found.group(2)
    assert "mailpass-dev totp" in text
    totp = await asyncio.create_subprocess_exec(
        str(MAILPASS_DEV), "totp", "--data-dir", str(tmp_path), stdout=asyncio.subprocess.PIPE
    )
    code = (await totp.communicate())[0].decode().strip()
    assert re.fullmatch(r"\d{6}", code), code
    page = await console.get("/console/sign-in")
    signed_in = await console.post(
        "/console/sign-in/password",
        data={"csrf_token": csrf_token(page), "email": email, "password": password, "code": code},
    )
    assert signed_in.status_code == 303, signed_in.text[-800:]
    overview = await console.get("/console/overview")
    assert f"{email} · owner" in overview.text and "dev-capture" in overview.text
    # A second start keeps the same owner and password.
    again = await banner(service_env, tmp_path, port)
    assert f"password {password}," in again
