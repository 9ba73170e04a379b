"""MailPass's own delivery of one message: signed, its envelope sender, one transaction
per recipient domain, and one outcome for the pipeline.

What a message goes through (the sender's pipeline does the rest: claim, record,
retries in the delay queues, dead letters, webhooks):

1. DKIM: the message is signed with ``d=`` its From domain, with the account's keys for
   that domain (``Signer``); a domain without a verified key fails the message at once,
   since unsigned mail from it would be refused or filed as spam.
2. The envelope sender is the message's signed VERP address on ``MTA_RETURN_PATH_DOMAIN``
   (:mod:`mta.verp`), so bounces that come back later name the message.
3. Recipients are grouped by domain and each domain gets one transaction
   (:mod:`mta.destination`), the domains concurrently.
4. Outcomes: every domain accepted → sent (with the hard bounces of refused recipients);
   every domain refused for good → failed with the reply; any deferred → deferred, after
   the settled domains were noted so that the retry does not send to them again
   (:mod:`mta.progress`).

One :class:`MtaEngine` per sender process is shared by every ``mailpass`` provider of
every account: the per-host connection limits are the whole sender's, as receiving
servers count them.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import dns.asyncresolver
import dns.resolver

from mailpass_common.mta import backoff, progress, verp
from mailpass_common.mta.connections import ConnectionPool, SessionOptions
from mailpass_common.mta.destination import Route, Transaction, deliver_to_domain
from mailpass_common.mta.mtasts import PolicyCache
from mailpass_common.platform.db import Database
from mailpass_common.platform.egress import EgressPolicy
from mailpass_common.providers.delivery.base import (
    Bounce,
    DeliveryError,
    DeliveryResult,
    DestinationBackedOff,
    OutgoingEmail,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    reply_text,
)
from mailpass_common.providers.delivery.mime import needs_smtputf8, wire_address

DNS_CACHE_ENTRIES = 10_000
# (account id, From domain, the message) -> the message with its DKIM signature(s);
# LookupError when the account has no verified key for the domain.
Signer = Callable[[str, str, bytes], Awaitable[bytes]]


@dataclass(frozen=True)
class MtaOptions:
    helo_hostname: str
    return_path_domain: str
    return_path_key: bytes  # verp.keys_from_secrets(SECRET_KEY)[0]
    port: int = 25
    # Per MX host: sessions open at once, and transactions per session before QUIT.
    max_connections_per_host: int = 10
    max_messages_per_connection: int = 100
    # How long a host that answered 421 or 4.7.x is left alone, by every sender.
    backoff_seconds: float = 300.0
    # Each network step (connect, a reply); and how long a message waits for a session
    # when the host's are all busy, before it is deferred.
    timeout_seconds: float = 30.0
    slot_wait_seconds: float = 30.0
    # A session idle this long is closed with QUIT (checked every idle_seconds / 3).
    idle_seconds: float = 30.0
    # Trust for certificates MTA-STS requires (and its policy fetch): the system's store
    # when None.
    tls_context: ssl.SSLContext | None = None
    # Where MTA-STS policies are fetched: 443 (RFC 8461); another only in development.
    sts_https_port: int = 443


class MtaEngine:
    def __init__(
        self,
        db: Database,
        resolver: dns.asyncresolver.Resolver,
        egress: EgressPolicy,
        options: MtaOptions,
        signer: Signer,
    ) -> None:
        if not options.helo_hostname or not options.return_path_domain:
            raise ValueError(
                "MailPass SMTP needs MTA_HELO_HOSTNAME and MTA_RETURN_PATH_DOMAIN to be set"
            )
        if resolver.cache is None:
            # Answers kept for their TTL (at most DNS_CACHE_ENTRIES names), as every MTA's
            # resolver does: a burst to one domain asks DNS once, not per message.
            resolver.cache = dns.resolver.LRUCache(DNS_CACHE_ENTRIES)
        self._db = db
        self._options = options
        self._signer = signer
        self._indexed = False
        self._indexing = asyncio.Lock()
        self.pool = ConnectionPool(
            options.max_connections_per_host,
            options.max_messages_per_connection,
            idle_seconds=options.idle_seconds,
        )
        self._sweeper: asyncio.Task[None] | None = None
        self._route = Route(
            resolver=resolver,
            egress=egress,
            pool=self.pool,
            backoff=backoff.DestinationBackoff(db, options.backoff_seconds),
            policies=PolicyCache(
                resolver, egress, tls_context=options.tls_context, https_port=options.sts_https_port
            ),
            session=SessionOptions(
                helo_hostname=options.helo_hostname,
                port=options.port,
                timeout=options.timeout_seconds,
                verified_context=options.tls_context,
            ),
            slot_wait_seconds=options.slot_wait_seconds,
        )

    async def start(self) -> None:
        """Ready to deliver: the indexes made before the first message rather than on it,
        and idle sessions closed from now on."""
        await self._ensure_indexes()
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_idle(), name="mta-idle-sessions")

    async def _sweep_idle(self) -> None:
        while True:
            await asyncio.sleep(self._options.idle_seconds / 3)
            await self.pool.close_idle()

    async def _ensure_indexes(self) -> None:
        """The engine's collections' indexes, made once (by :meth:`start`, else by the
        first delivery: the others wait for it rather than each sending createIndexes)."""
        if self._indexed:
            return
        async with self._indexing:
            if not self._indexed:
                await backoff.ensure_indexes(self._db)
                await progress.ensure_indexes(self._db)
                self._indexed = True

    async def deliver(self, email: OutgoingEmail, mime: bytes, account_id: str) -> DeliveryResult:
        """Deliver ``email`` (module docstring); DeliveryError when it did not go out."""
        await self._ensure_indexes()
        from_domain = email.from_email.rpartition("@")[2].lower()
        try:
            data = await self._signer(account_id, from_domain, mime)
        except LookupError as exc:
            raise PermanentDeliveryError(
                f"{from_domain} has no verified DKIM key for this account: MailPass SMTP "
                f"sends only from verified sending domains ({exc})"
            ) from exc
        sender = verp.make(
            email.message_id, self._options.return_path_domain, self._options.return_path_key
        )
        named = {wire_address(r): r for r in email.recipients}
        by_domain: dict[str, list[str]] = {}
        for address in named:
            by_domain.setdefault(address.rpartition("@")[2].lower(), []).append(address)
        several = len(by_domain) > 1
        settled = await progress.settled_domains(self._db, email.message_id) if several else set()
        domains = [d for d in by_domain if d not in settled]
        smtputf8 = needs_smtputf8(email)
        transactions = [
            Transaction(d, sender, tuple(by_domain[d]), data, smtputf8, named) for d in domains
        ]
        results: list[DeliveryResult | BaseException]
        if len(transactions) == 1:  # the common case, without a task per message
            try:
                results = [await deliver_to_domain(self._route, transactions[0])]
            except DeliveryError as exc:
                results = [exc]
        else:
            results = await asyncio.gather(
                *(deliver_to_domain(self._route, tx) for tx in transactions),
                return_exceptions=True,
            )
        outcomes = dict(zip(domains, results, strict=True))
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, DeliveryError):
                raise result
        return await self._combine(email.message_id, outcomes, several, settled)

    async def _combine(
        self,
        message_id: str,
        outcomes: dict[str, DeliveryResult | BaseException],
        several: bool,
        settled_before: set[str],
    ) -> DeliveryResult:
        accepted = {d: r for d, r in outcomes.items() if isinstance(r, DeliveryResult)}
        deferred = {d: r for d, r in outcomes.items() if isinstance(r, TemporaryDeliveryError)}
        refused = {d: r for d, r in outcomes.items() if isinstance(r, PermanentDeliveryError)}
        bounced: tuple[Bounce, ...] = (
            *(b for r in accepted.values() for b in r.bounced),
            *(b for e in refused.values() for b in e.bounced),
        )

        def text(parts: dict[str, str]) -> str:
            if len(parts) == 1 and not several:
                return next(iter(parts.values()))  # the remote reply, as it gave it
            return reply_text("; ".join(f"{d}: {reply}" for d, reply in parts.items()))

        if deferred:
            if accepted or refused:
                await progress.settle(self._db, message_id, [*accepted, *refused])
            reply = text({d: e.reply for d, e in deferred.items()})
            where = ",".join(sorted(deferred))
            held = deferred.values()
            waits = [e.retry_after for e in held if isinstance(e, DestinationBackedOff)]
            if len(waits) == len(deferred) and not bounced:
                # Only our own back-offs held it: nothing still owed was tried.
                raise DestinationBackedOff(reply, destination=where, retry_after=min(waits))
            raise TemporaryDeliveryError(reply, bounced, destination=where)
        if not accepted and not settled_before:
            raise PermanentDeliveryError(
                text({d: e.reply for d, e in refused.items()}),
                bounced,
                destination=",".join(sorted(refused)),
            )
        replies = {d: r.reply for d, r in accepted.items()} | {
            d: e.reply for d, e in refused.items()
        }
        return DeliveryResult(provider_message_id=None, reply=text(replies), bounced=bounced)

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self.pool.close()
        await self._route.policies.close()
