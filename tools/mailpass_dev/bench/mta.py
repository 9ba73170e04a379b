"""The MTA path of the bench: MailPass SMTP delivering by itself, with smtp-sink as the MX.

A DNS server of the bench's own (unbound, :mod:`mailpass_dev.dns`) answers for two
domains: the recipients' (``MX 10 mx.<it>``, and that host at 127.0.0.1, where smtp-sink
listens on ``MTA_SMTP_PORT``) and the sender's, whose DKIM records the bench's second
tenant publishes and verifies with the domains library. That tenant's default provider is
a ``mailpass`` one, so its batches take the whole MTA path: DNS look-ups (cached by their
TTL, as a real resolver would), DKIM signing of every message, the signed VERP return
path, pooled sessions per MX host, and the same pipeline as the relay path. The phase runs
right after the relay's batch on an empty database, in the same run, against the same
sink, so the two rates compare, and the sink's session count gives the connections opened
per 1,000 messages.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mailpass_common.mta import dkim
from mailpass_common.mta.domains import create_domain
from mailpass_common.mta.resolver import make_resolver
from mailpass_common.mta.verification import verify_domain
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.providers import service as providers
from mailpass_common.tenants import accounts, api_keys
from mailpass_common.tenants.api_keys import ApiKeyRecord, Permission
from mailpass_dev.bench.tenant import Tenant
from mailpass_dev.dns import DnsServer
from mailpass_dev.stack import Stack

RECIPIENT_DOMAIN = "mx-bench.example.com"
SENDING_DOMAIN = "mta-bench.example.com"
RECIPIENT = f"rcpt@{RECIPIENT_DOMAIN}"
SENDER = f"bench@{SENDING_DOMAIN}"
RETURN_PATH_DOMAIN = "bounces.mta-bench.example.com"
HELO = "mta.bench.mailpass.local"
TTL = 300  # cached by the MTA's resolver, as the internet's records are
OPENED_METRIC = "mailpass_mta_connections_opened_total"


async def connections_opened(stack: Stack) -> int:
    """SMTP sessions the stack's MTA opened so far (every service's counter, summed)."""
    async with httpx.AsyncClient(timeout=10) as client:

        async def one(port: int) -> int:
            response = await client.get(f"http://127.0.0.1:{port}/metrics")
            response.raise_for_status()
            return sum(
                int(sample.value)
                for family in text_string_to_metric_families(response.text)
                for sample in family.samples
                if sample.name == OPENED_METRIC
            )

        ports = [s.management_port for s in stack.managed() if s.management_port]
        return sum(await asyncio.gather(*(one(port) for port in ports)))


class MtaPath:
    """The bench's DNS server and the env that points the sender's MTA at it."""

    def __init__(self, log_dir: Path) -> None:
        self.dns = DnsServer(log_dir / "dns")

    def start(self, sink_port: int) -> dict[str, str]:
        """Start the DNS server; the sender's MTA settings for the stack."""
        self.dns.start()
        self.dns.add(RECIPIENT_DOMAIN, "MX", f"10 mx.{RECIPIENT_DOMAIN}.", TTL)
        self.dns.add(f"mx.{RECIPIENT_DOMAIN}", "A", "127.0.0.1", TTL)
        self.dns.add(RETURN_PATH_DOMAIN, "MX", f"10 mx.{RECIPIENT_DOMAIN}.", TTL)
        return {
            "MTA_HELO_HOSTNAME": HELO,
            "MTA_RETURN_PATH_DOMAIN": RETURN_PATH_DOMAIN,
            "MTA_DNS_NAMESERVERS": self.dns.nameserver,
            "MTA_SMTP_PORT": str(sink_port),
        }

    async def create_tenant(self, db: Database, settings: CommonSettings) -> Tenant:
        """An account whose default provider is MailPass SMTP, sending from a verified domain."""
        cipher = CredentialCipher(settings.secret_key.get_secret_value())
        account = await accounts.create_account(db, f"bench-mta-{secrets.token_hex(4)}")
        account_id = account["_id"]
        domain = await create_domain(db, cipher, account_id, SENDING_DOMAIN)
        for key in await dkim.domain_keys(db, account_id, SENDING_DOMAIN):
            value = dkim.record_value(dkim.Algorithm(key["algorithm"]), key["public_key"])
            self.dns.add(dkim.record_name(key["selector"], SENDING_DOMAIN), "TXT", value, TTL)
        resolver = make_resolver([self.dns.nameserver])
        verified = await verify_domain(db, resolver, domain, RETURN_PATH_DOMAIN)
        if verified.domain.get("status") != "verified":
            raise RuntimeError(f"the bench's sending domain did not verify: {verified}")
        provider = await providers.add_provider(
            db,
            cipher,
            account_id=account_id,
            name="mailpass-smtp",
            type="mailpass",
            config={},
            from_email=SENDER,
            from_name="MailPass Bench",
            default=True,
        )
        new_key = await api_keys.create_api_key(db, account_id, [Permission.MAIL], name="bench-mta")
        record = ApiKeyRecord(
            key_hash=new_key.key_hash,
            account_id=account_id,
            permissions=frozenset({Permission.MAIL}),
            test=False,
        )
        return Tenant(account_id, new_key.key, record, provider)

    def stop(self) -> None:
        self.dns.stop()
