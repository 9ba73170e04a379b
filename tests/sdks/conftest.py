"""The real stack for the client SDKs' tests: gateway and sender in this event loop, an
SMTP capture server, an account with a default provider and a key, and the flaky front
(:mod:`tests.sdks.front`). The PHP and TypeScript suites run as processes against it."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mailpass_common.platform.db import Database
from mailpass_common.tenants.api_keys import Permission
from mailpass_common.webhooks import signing
from tests.sdks.front import flaky_front
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender, serve_app
from tests.support.tenants import make_tenant

ROOT = Path(__file__).resolve().parents[2]
SDKS = ROOT / "sdks"


@dataclass(frozen=True)
class SdkStack:
    base_url: str
    front_url: str
    key: str
    smtp: SmtpServer

    def environ(self) -> dict[str, str]:
        """What the SDK suites read: the stack, and a delivery signed by the server's code."""
        secret = signing.generate_secret()
        body = json.dumps({"type": "sent", "data": {"message_id": "<a@b>", "to": "x@y.z"}})
        headers = signing.signed_headers([secret], "msg_sdk_test", int(time.time()), body.encode())
        return {
            **os.environ,
            "MAILPASS_BASE_URL": self.base_url,
            "MAILPASS_API_KEY": self.key,
            "MAILPASS_FLAKY_URL": self.front_url,
            "MAILPASS_WEBHOOK_SECRET": secret,
            "MAILPASS_WEBHOOK_BODY": body,
            "MAILPASS_WEBHOOK_HEADERS": json.dumps(headers),
        }


@pytest.fixture(scope="session")
def sdk_tools() -> None:
    """PHP, phpunit, node and the TypeScript SDK's packages and build (scripts/sdk-tools.sh)."""
    subprocess.run([str(ROOT / "scripts" / "sdk-tools.sh"), "ensure"], check=True)


@pytest.fixture
async def sdk_stack(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> AsyncIterator[SdkStack]:
    tenant = await make_tenant(
        db,
        service_env,
        "sdk",
        smtp_port=smtp.port,
        permissions=(Permission.MAIL, Permission.WEBHOOKS),
    )
    async with (
        running_sender(service_env, management_port=0),
        running_gateway(service_env, webhook_allow_http=True) as api,
        serve_app(flaky_front(str(api.base_url))) as front_url,
    ):
        yield SdkStack(str(api.base_url).rstrip("/"), front_url, tenant.key, smtp)


async def run(
    argv: Sequence[str], *, cwd: Path, env: dict[str, str], timeout: float = 40
) -> tuple[int, str]:
    """A process run beside the event loop (which serves the stack it talks to)."""
    proc = await asyncio.create_subprocess_exec(
        *argv,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        output, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        proc.kill()
        partial, _ = await proc.communicate()
        raise AssertionError(f"{argv[0]} ran over {timeout} s:\n{partial.decode()}") from None
    return proc.returncode or 0, output.decode(errors="replace")
