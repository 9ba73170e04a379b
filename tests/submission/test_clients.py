"""Debian's swaks against mailpass-smtp (the README's line), and a real ``mailpass-smtp``
process killed with SIGKILL while clients submit: nothing it answered 250 to is lost."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import aiosmtplib

from mailpass_common.messages import attachment_store as bodies
from mailpass_common.messages import service as messages
from mailpass_common.platform.db import Database
from mailpass_dev.main import BANNER
from tests.submission.conftest import Submission, client_context
from tests.support.messages import wait_for_status
from tests.support.processes import BIN, process_env
from tests.support.services import free_port, wait_for_port
from tests.support.tenants import make_tenant
from tests.support.tls import self_signed_cert

QUEUED = re.compile(rb"250 2\.0\.0 Ok: queued as (<[^>]+>)")


def swaks(*args: str) -> str:
    done = subprocess.run(
        ["swaks", "--server", "127.0.0.1", *args], capture_output=True, timeout=30, check=False
    )
    return (done.stdout + done.stderr).decode()


async def test_swaks_starttls_auth_login_and_implicit_tls(submission: Submission) -> None:
    common = [
        "--auth-user", "mailpass", "--auth-password", submission.tenant.key,
        "--from", "noreply@acme.example.com", "--to", "ann@example.com",
        "--header", "Subject: Hello from swaks", "--header", "X-MailPass-Tags: swaks",
        "--body", "It works.",
    ]  # fmt: skip
    starttls = await asyncio.to_thread(
        swaks, "--port", str(submission.port), "--tls", "--auth", "LOGIN", *common
    )
    implicit = await asyncio.to_thread(
        swaks, "--port", str(submission.tls_port), "--tls-on-connect", "--auth", "PLAIN", *common
    )
    ids = []
    for transcript in (starttls, implicit):
        found = QUEUED.search(transcript.encode())
        assert found, transcript
        ids.append(found.group(1).decode())
    for message_id in ids:
        doc = await wait_for_status(submission.db, message_id, "sent")
        assert doc["subject"] == "Hello from swaks"
        assert doc["tags"] == ["swaks"]
    await submission.relay.wait_for(2)


async def _submit_until_killed(
    port: int, key: str, answered: list[str], enough: asyncio.Event, stop: asyncio.Event
) -> None:
    """One client session after another, each sending until the server goes away."""
    n = 0
    while not stop.is_set():
        client = aiosmtplib.SMTP(
            hostname="127.0.0.1", port=port, use_tls=True, tls_context=client_context(), timeout=5
        )
        try:
            await client.connect()
            await client.login("mailpass", key)
            while not stop.is_set():
                n += 1
                content = f"From: noreply@acme.example.com\r\nSubject: n{n}\r\n\r\n{n}\r\n"
                _, reply = await client.sendmail(
                    "noreply@acme.example.com", ["ann@example.com"], content.encode()
                )
                found = QUEUED.search(b"250 " + reply.encode())
                assert found, reply
                answered.append(found.group(1).decode())
                if len(answered) >= 30:
                    enough.set()
        except (aiosmtplib.SMTPException, OSError):
            await asyncio.sleep(0.05)  # killed mid-session: the next attempt finds no server


async def test_a_killed_process_loses_nothing_it_answered_250_to(
    db: Database, service_env: dict[str, Any], tmp_path: Path
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=free_port())
    cert = self_signed_cert(tmp_path)
    port = free_port()
    env = process_env(
        service_env,
        management_port=free_port(),
        smtp_host="127.0.0.1",
        smtp_submission_port=free_port(),
        smtp_submissions_port=port,
        smtp_tls_cert_file=cert.cert_path,
        smtp_tls_key_file=cert.key_path,
    )
    process = await asyncio.create_subprocess_exec(str(BIN / "mailpass-smtp"), env=env)
    answered: list[str] = []
    enough, stop = asyncio.Event(), asyncio.Event()
    try:
        assert await asyncio.to_thread(wait_for_port, "127.0.0.1", port, 30), "not listening"
        clients = [
            asyncio.create_task(_submit_until_killed(port, tenant.key, answered, enough, stop))
            for _ in range(3)
        ]
        await asyncio.wait_for(enough.wait(), 30)
        os.kill(process.pid, signal.SIGKILL)  # in the middle of the clients' transactions
        await process.wait()
        stop.set()
        await asyncio.gather(*clients)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert len(answered) >= 30
    for message_id in answered:
        doc = await messages.get_message(db, message_id)
        assert doc is not None, f"{message_id} was answered 250 but is not stored"
        assert doc["status"] == "queued"
        stored = await bodies.load_submitted(db, doc)
        assert stored is not None and stored.endswith(
            b"\r\n\r\n" + doc["subject"][1:].encode() + b"\r\n"
        )


async def test_the_swaks_line_make_run_prints_sends(submission: Submission) -> None:
    """The banner's own command, run as printed (with this test's port and key)."""
    banner = BANNER.format(
        gateway_port=8000,
        tracker_port=8001,
        smtp_port=1025,
        inbound_port=2525,
        mailbox="/data/mailbox",
        key=submission.tenant.key,
        console_link="http://127.0.0.1:8000/console/link",
        owner_email="owner@mailpass.test",
        owner_password="dev-password",
        owner_secret="JBSWY3DPEHPK3PXP",
        submission_port=submission.port,
        submissions_port=submission.tls_port,
    )
    command = banner[banner.index(" swaks ") : banner.index("=====", banner.index(" swaks "))]
    done = await asyncio.to_thread(
        subprocess.run,
        ["sh", "-c", command.replace("\\\n", " ")],
        capture_output=True,
        timeout=30,
        check=False,
    )
    found = QUEUED.search(done.stdout)
    assert found, (done.stdout + done.stderr).decode()
    doc = await wait_for_status(submission.db, found.group(1).decode(), "sent")
    assert doc["subject"] == "Hello over SMTP"
