"""`make run`'s pieces of the loop: the dev DNS server (a real `mailpass-dev dns` process
with unbound) publishing `.test` domains' records, and the capture server reporting
bounces and complaints back to a real mailpass-inbound."""

from __future__ import annotations

import asyncio
import secrets
import smtplib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import dns.asyncresolver
import dns.exception
import pytest

from mailpass_common.mta import dkim
from mailpass_common.mta.domains import create_domain, delete_domain
from mailpass_common.mta.verification import verify_domain
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database, where
from mailpass_dev.bounces import BounceBack
from mailpass_dev.mailbox import start_mailbox
from tests.inbound.conftest import DOMAIN, SECRET, Inbound, running_dev_dns
from tests.support.services import free_port


@pytest.fixture
async def dev_dns(
    inbound_env: dict[str, Any], tmp_path: Path
) -> AsyncIterator[dns.asyncresolver.Resolver]:
    async with running_dev_dns(inbound_env, tmp_path) as (resolver, _):
        yield resolver
    assert not unbound_alive(tmp_path / "dns" / "unbound.pid")  # it stops with the process


def unbound_alive(pid_file: Path) -> bool:
    return pid_file.exists() and Path(f"/proc/{pid_file.read_text().strip()}").exists()


async def answers(resolver: dns.asyncresolver.Resolver, name: str, kind: str) -> list[str]:
    try:
        found = await resolver.resolve(name, kind)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    return sorted(r.to_text() for r in found)


async def eventually(
    resolver: dns.asyncresolver.Resolver, name: str, kind: str, want: bool
) -> list[str]:
    for _ in range(100):
        found = await answers(resolver, name, kind)
        if bool(found) == want:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{name} {kind}: {found}")


async def test_the_dev_dns_routes_test_mail_and_publishes_sending_domains(
    dev_dns: dns.asyncresolver.Resolver, inbound_db: Database
) -> None:
    assert await answers(dev_dns, "example.test", "MX") == ["10 mx.mailpass.test."]
    assert await answers(dev_dns, "mx.mailpass.test", "A") == ["127.0.0.1"]
    assert await answers(dev_dns, DOMAIN, "MX") == ["10 inbound.mailpass.test."]
    assert await answers(dev_dns, "gmail.com", "MX") == []  # nothing from the internet

    account_id, name = f"acc_{secrets.token_hex(4)}", f"acme-{secrets.token_hex(3)}.test"
    doc = await create_domain(inbound_db, CredentialCipher(SECRET), account_id, name)
    keys = await dkim.domain_keys(inbound_db, account_id, name)
    rsa = next(k for k in keys if k["algorithm"] == dkim.Algorithm.RSA)
    published = await eventually(dev_dns, dkim.record_name(rsa["selector"], name), "TXT", True)
    expected = dkim.record_value(dkim.Algorithm.RSA, rsa["public_key"])
    assert "".join(part.strip('"') for part in published[0].split('" "')) == expected
    assert await answers(dev_dns, name, "MX") == ["10 mx.mailpass.test."]
    verified = await verify_domain(inbound_db, dev_dns, doc, DOMAIN)
    assert verified.domain["status"] == "verified"

    await delete_domain(inbound_db, account_id, doc["_id"])
    await eventually(dev_dns, dkim.record_name(rsa["selector"], name), "TXT", False)
    assert await answers(dev_dns, name, "MX") == []


async def test_the_capture_server_reports_bounces_and_complaints_to_inbound(
    inbound: Inbound, tmp_path: Path
) -> None:
    port = free_port()
    back = BounceBack(DOMAIN, "127.0.0.1", inbound.smtp_port, delay_seconds=0.0)
    mailbox = start_mailbox(tmp_path / "mailbox", "127.0.0.1", port, back)
    try:
        account_id = f"acc_{secrets.token_hex(4)}"
        bounced = await inbound.sent_message(account_id, "bounce@example.test")
        complained = await inbound.sent_message(account_id, "complain@example.test")
        for message_id, rcpt in (
            (bounced, "bounce@example.test"),
            (complained, "complain@example.test"),
        ):
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                client.sendmail(
                    inbound.return_path(message_id), [rcpt], b"Subject: hi\r\n\r\nhello\r\n"
                )
        for _ in range(100):
            found = await inbound.db["suppressions"].find(where(account_id=account_id)).to_list()
            if len(found) == 2:
                break
            await asyncio.sleep(0.1)
        assert sorted((s["address"], s["reason"]) for s in found) == [
            ("bounce@example.test", "bounce"),
            ("complain@example.test", "complaint"),
        ]
        message = await inbound.db["messages"].find_one({"_id": bounced})
        assert message is not None and message["status"] == "bounced"
        assert len(list((tmp_path / "mailbox").glob("*.eml"))) == 2  # captured as ever
    finally:
        mailbox.stop()
