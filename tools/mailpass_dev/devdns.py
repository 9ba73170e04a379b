"""``mailpass-dev dns``: the dev stack's DNS server, where ``.test`` mail goes to the
capture server and bounces come back to mailpass-inbound.

unbound (:mod:`mailpass_dev.dns`) answering for every name from its own records only
(nothing is looked up on the internet, so MailPass SMTP in ``make run`` can only ever
deliver to the capture server). It serves:

- ``mx.mailpass.test`` (A 127.0.0.1): the capture server, the MX of ``example.test``,
  ``mailpass.test`` and of every ``.test`` sending domain, so mail to any address there
  is captured (the sender delivers to it on ``MTA_SMTP_PORT``, the capture port);
- the return-path domain (``MTA_RETURN_PATH_DOMAIN``): MX ``inbound.mailpass.test``
  (A 127.0.0.1), mailpass-inbound, which the domains' return-path check looks for;
- each ``.test`` sending domain's records as MailPass asks for them (DKIM TXT, SPF,
  DMARC), published a moment after the domain is added and removed after it is deleted:
  a development convenience standing in for the DNS host, so a newcomer's domain
  verifies at once. The ``domains`` and ``dkim_keys`` collections are read whole every
  ``interval`` seconds: a dev database holds a handful.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

from mailpass_common.mta import dkim
from mailpass_common.mta.records import domain_records
from mailpass_common.platform import db as dbmod
from mailpass_common.platform.db import Collections, Database
from mailpass_common.platform.lifecycle import run_until_signalled, wait_for_mongodb
from mailpass_common.platform.settings import CommonSettings, load_settings
from mailpass_dev.dns import DnsServer, Record

log = logging.getLogger(__name__)

CAPTURE_HOST = "mx.mailpass.test"
INBOUND_HOST = "inbound.mailpass.test"
CAPTURED_DOMAINS = ("example.test", "mailpass.test")
DEFAULT_RETURN_PATH_DOMAIN = "bounces.mailpass.test"
MAX_DOMAINS = 1000


def base_records(return_path_domain: str) -> list[Record]:
    records = [
        Record(CAPTURE_HOST, "A", "127.0.0.1"),
        Record(INBOUND_HOST, "A", "127.0.0.1"),
        Record(return_path_domain, "MX", f"10 {INBOUND_HOST}."),
    ]
    records += [Record(domain, "MX", f"10 {CAPTURE_HOST}.") for domain in CAPTURED_DOMAINS]
    return records


async def sending_domain_records(db: Database, return_path_domain: str) -> dict[str, list[Record]]:
    """What each ``.test`` sending domain publishes, by domain: its DKIM, SPF and DMARC
    records as MailPass shows them, and an MX to the capture server."""
    keys_by_domain: dict[tuple[str, str], list[dict[str, object]]] = defaultdict(list)
    async for key in db[dkim.COLLECTION].find({}, projection={"secret": 0}).limit(MAX_DOMAINS * 4):
        keys_by_domain[(str(key["account_id"]), str(key["domain"]))].append(key)
    found: dict[str, list[Record]] = defaultdict(list)
    async for doc in db[Collections.DOMAINS].find({}).limit(MAX_DOMAINS):
        domain = str(doc["domain"])
        if not domain.endswith(".test"):
            continue
        keys = dkim.ordered(keys_by_domain[(str(doc["account_id"]), domain)])
        for record in domain_records(doc, keys, return_path_domain):
            if record.type == "TXT" and record.value:
                found[domain].append(Record(record.name, "TXT", record.value))
        found[domain].append(Record(domain, "MX", f"10 {CAPTURE_HOST}."))
    return found


class DomainPublisher:
    """Keeps the server's records of sending domains in line with the database."""

    def __init__(self, server: DnsServer, db: Database, return_path_domain: str) -> None:
        self.server = server
        self.db = db
        self.return_path_domain = return_path_domain
        self.published: dict[str, set[Record]] = {}

    async def sync(self) -> None:
        wanted = {
            domain: set(records)
            for domain, records in (
                await sending_domain_records(self.db, self.return_path_domain)
            ).items()
        }
        for domain in set(self.published) | set(wanted):
            before, after = self.published.get(domain, set()), wanted.get(domain, set())
            if before == after:
                continue
            await asyncio.to_thread(self._replace, before, after)
            if after:
                self.published[domain] = after
                log.info("dev DNS: published %s (%d records)", domain, len(after))
            else:
                self.published.pop(domain, None)
                log.info("dev DNS: removed %s", domain)

    def _replace(self, before: Iterable[Record], after: Iterable[Record]) -> None:
        self.server.remove(*sorted({record.name for record in before}))
        self.server.add_records(after)

    async def run(self, interval: float) -> None:
        while True:
            try:
                await self.sync()
            except Exception as exc:  # the database restarting: try again next round
                log.warning("dev DNS: could not read the sending domains: %s", exc)
            await asyncio.sleep(interval)


async def serve_dns(data_dir: Path, host: str, port: int, interval: float) -> None:
    """Until SIGTERM/SIGINT: unbound on ``host:port`` (stopped with this process)."""
    settings = load_settings(CommonSettings, "mailpass-dev")
    return_path_domain = settings.mta_return_path_domain or DEFAULT_RETURN_PATH_DOMAIN
    server = DnsServer(data_dir / "dns", host, port)
    client, db = dbmod.connect(settings)
    publishing: list[asyncio.Task[None]] = []

    async def start() -> None:
        await asyncio.to_thread(server.start)
        server.add_records(base_records(return_path_domain))
        await wait_for_mongodb(db, settings.startup_timeout_seconds)
        publisher = DomainPublisher(server, db, return_path_domain)
        publishing.append(asyncio.create_task(publisher.run(interval)))
        print(
            f"dev DNS on {server.nameserver}: .test mail to the capture server "
            f"({CAPTURE_HOST}), bounces to mailpass-inbound ({return_path_domain})",
            flush=True,
        )

    async def stop() -> None:
        for task in publishing:
            task.cancel()
        await asyncio.gather(*publishing, return_exceptions=True)
        server.stop()
        await client.close()

    await run_until_signalled("dev DNS", start, stop)
