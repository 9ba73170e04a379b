"""Several gateway worker processes share the public and management ports, and the
management port's /metrics counts the requests of all of them (multiprocess mode)."""

from __future__ import annotations

import asyncio
import re
import signal
from pathlib import Path
from typing import Any

import httpx

from mailpass_common.platform.db import Database
from tests.support.processes import BIN, process_env
from tests.support.services import free_port
from tests.support.smtp import SmtpServer
from tests.support.tenants import make_tenant

WORKERS = 2


async def _wait_ready(url: str, proc: asyncio.subprocess.Process) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            if proc.returncode is not None:
                raise AssertionError(f"the gateway exited with {proc.returncode}")
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def _workers(pid: int) -> list[str]:
    """The supervisor's worker processes (not multiprocessing's resource tracker)."""
    children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    return [c for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()]


def _requests_counted(exposition: str) -> float:
    route = r'route="/api/v1/mail/status/\{message_id\}"'
    pattern = r"mailpass_gateway_requests_total\{[^}]*" + route + r"[^}]*\} (\S+)"
    return sum(float(value) for value in re.findall(pattern, exposition))


async def test_workers_share_the_ports_and_their_metrics_add_up(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    public, management = free_port(), free_port()
    proc = await asyncio.create_subprocess_exec(
        str(BIN / "mailpass-gateway"),
        env=process_env(
            service_env,
            gateway_port=public,
            management_port=management,
            gateway_workers=WORKERS,
        ),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        await _wait_ready(f"http://127.0.0.1:{management}/readyz", proc)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{public}") as api:
            # New connections each time: the kernel spreads them over the workers.
            statuses = [
                (
                    await api.get(
                        "/api/v1/mail/status/nope@x",
                        headers={**tenant.headers, "Connection": "close"},
                    )
                ).status_code
                for _ in range(40)
            ]
        assert statuses == [404] * 40
        assert len(_workers(proc.pid)) == WORKERS
        # Each scrape lands on some worker; every one answers for all of them.
        async with httpx.AsyncClient() as client:
            for _ in range(20):
                response = await client.get(
                    f"http://127.0.0.1:{management}/metrics", headers={"Connection": "close"}
                )
                assert _requests_counted(response.text) == 40
    finally:
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 30) == 0
