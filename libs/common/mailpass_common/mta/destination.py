"""One transaction to one recipient domain: its MX hosts in order, one session, the replies.

The recipients of a message on one domain go in one transaction (one MAIL FROM, a RCPT
each, one DATA). MX hosts are tried in order (:mod:`mta.mx`) while they cannot be reached:
refused or timed-out connections, a 4xx or 5xx greeting, TLS that an MTA-STS policy
requires and the host does not offer. At most :data:`MAX_HOSTS_TRIED` are tried per
attempt. Once a host has a session, its replies decide, as for the SMTP provider: 5xx
fails (the reply as given; a 5.1.x/5.2.x refusal at RCPT is a hard bounce), 4xx defers,
and a 421 or 4.7.x also backs the host off for every sender (:mod:`mta.backoff`).

Every failure raised here names its recipient domain (``destination``): it is that
domain's trouble, never a reason to open the provider's circuit for everyone else.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from dataclasses import dataclass

import aiosmtplib
import dns.asyncresolver

from mailpass_common.mta import mx
from mailpass_common.mta.backoff import DestinationBackoff, asks_to_back_off
from mailpass_common.mta.connections import (
    TRANSIENT,
    ConnectionPool,
    Session,
    SessionOptions,
    SessionRefused,
    open_session,
)
from mailpass_common.mta.mtasts import PolicyCache
from mailpass_common.platform.egress import EgressPolicy
from mailpass_common.providers.delivery.base import (
    Bounce,
    DeliveryError,
    DeliveryResult,
    DestinationBackedOff,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    reply_text,
)

MAX_HOSTS_TRIED = 5


@dataclass(frozen=True)
class Transaction:
    domain: str
    sender: str  # the envelope sender (the signed VERP address)
    recipients: tuple[str, ...]  # wire form (IDNA domain)
    data: bytes
    smtputf8: bool
    named: dict[str, str]  # wire form -> the address as the message named it


@dataclass(frozen=True)
class Route:
    """What a domain delivery needs; one per sender process, shared by all providers."""

    resolver: dns.asyncresolver.Resolver
    egress: EgressPolicy
    pool: ConnectionPool
    backoff: DestinationBackoff
    policies: PolicyCache
    session: SessionOptions
    slot_wait_seconds: float


def _error(code: int, message: str, domain: str, host: str) -> DeliveryError:
    if not 200 <= code <= 599:
        return TemporaryDeliveryError(f"{host} did not answer in SMTP", destination=domain)
    reply = reply_text(f"{code} {message}")
    kind = PermanentDeliveryError if code >= 500 else TemporaryDeliveryError
    return kind(reply, destination=domain)


async def deliver_to_domain(route: Route, tx: Transaction) -> DeliveryResult:
    """Deliver ``tx`` to one of its domain's MX hosts, or raise a DeliveryError."""
    domain = tx.domain
    try:
        hosts = await mx.mx_hosts(route.resolver, domain)
    except mx.DomainRefusesMail as exc:
        code = "556 5.1.10" if "null MX" in str(exc) else "550 5.1.2"
        reply = f"{code} {exc}"
        bounced = tuple(Bounce(tx.named[r], reply) for r in tx.recipients)
        raise PermanentDeliveryError(reply, bounced, destination=domain) from exc
    except mx.LookupFailed as exc:
        raise TemporaryDeliveryError(str(exc), destination=domain) from exc
    policy = await route.policies.policy(domain)
    verified = policy is not None and policy.enforced
    if policy is not None and verified:
        hosts = [host for host in hosts if policy.allows(host.name)]
        if not hosts:
            raise TemporaryDeliveryError(
                f"the MTA-STS policy of {domain} (enforce) matches none of its MX hosts",
                destination=domain,
            )
    failures: list[str] = []
    refused = 0
    waits: list[float] = []
    for host in hosts[:MAX_HOSTS_TRIED]:
        waiting = await route.backoff.blocked(host.name)
        if waiting is not None:
            failures.append(waiting)
            waits.append(route.backoff.remaining(host.name))
            continue
        try:
            session = await _session(route, host.name, verified)
        except _EgressRefused as exc:
            refused += 1
            failures.append(str(exc))
            continue
        except SessionRefused as exc:
            if asks_to_back_off(exc.code, exc.message):
                await route.backoff.back_off(host.name, reply_text(exc.reply, 120))
            failures.append(exc.reply)
            continue
        return await _transact(route, session, tx, verified)
    reply = reply_text("; ".join(failures))
    if refused == len(failures):  # every host is one the egress policy forbids
        raise PermanentDeliveryError(reply, destination=domain)
    if len(waits) == len(failures):  # every host backed off: nothing was tried
        raise DestinationBackedOff(reply, destination=domain, retry_after=min(waits))
    raise TemporaryDeliveryError(reply, destination=domain)


class _EgressRefused(Exception):
    pass


async def _session(route: Route, host: str, verified: bool) -> Session:
    try:
        reused = await route.pool.acquire(host, verified=verified, wait=route.slot_wait_seconds)
    except TimeoutError:
        raise SessionRefused(f"{host}: all connections busy") from None
    if reused is not None:
        return reused
    try:
        try:
            addresses = await mx.addresses(route.resolver, host)
        except (mx.DomainRefusesMail, mx.LookupFailed) as exc:
            raise SessionRefused(f"{host}: {exc}") from exc
        if not addresses:
            raise SessionRefused(f"{host} has no address")
        for address in addresses:
            why = route.egress.address_refusal(address)
            if why is not None:
                raise _EgressRefused(f"{host} resolves to {why}, which MailPass may not connect to")
        return await open_session(host, addresses, route.session, verified=verified)
    except BaseException:
        await route.pool.not_opened(host)
        raise


async def _transact(
    route: Route, session: Session, tx: Transaction, verified: bool
) -> DeliveryResult:
    """The transaction on ``session``; a reused session that turns out dead is replaced once."""
    while True:
        reused = session.sent > 0
        try:
            return await _transaction(route, session, tx)
        except _SessionLost as exc:
            if not reused:
                raise TemporaryDeliveryError(str(exc), destination=tx.domain) from exc
        try:
            session = await _session(route, session.host, verified)
        except (SessionRefused, _EgressRefused) as exc:
            raise TemporaryDeliveryError(str(exc), destination=tx.domain) from exc


class _SessionLost(Exception):
    pass


async def _transaction(route: Route, session: Session, tx: Transaction) -> DeliveryResult:
    client, host = session.client, session.host
    try:
        errors, response = await client.sendmail(
            tx.sender,
            list(tx.recipients),
            tx.data,
            mail_options=["SMTPUTF8"] if tx.smtputf8 else [],
        )
    except aiosmtplib.SMTPNotSupported as exc:
        await _reset(route, session)
        raise PermanentDeliveryError(
            f"{host} does not offer SMTPUTF8, which a non-ASCII address needs ({exc})",
            destination=tx.domain,
        ) from exc
    except aiosmtplib.SMTPRecipientsRefused as exc:
        worst = max(exc.recipients, key=lambda r: r.code)
        error = _error(worst.code, f"{worst.recipient}: {worst.message}", tx.domain, host)
        error.bounced = _bounces(tx, ((r.recipient, r.code, r.message) for r in exc.recipients))
        await _after_refusal(route, session, worst.code, worst.message)
        raise error from exc
    except aiosmtplib.SMTPResponseException as exc:
        await _after_refusal(route, session, exc.code, exc.message)
        raise _error(exc.code, exc.message, tx.domain, host) from exc
    except TRANSIENT as exc:
        await route.pool.release(session, reusable=False)
        raise _SessionLost(f"{host}: session failed: {exc or type(exc).__name__}") from exc
    session.sent += 1
    await route.pool.release(session, reusable=True)
    refused = "; ".join(f"{r}: {e.code} {e.message}" for r, e in errors.items())
    bounced = _bounces(tx, ((r, e.code, e.message) for r, e in errors.items()))
    reply = reply_text(f"{host}: 250 {response}" + (f"; refused {refused}" if refused else ""))
    return DeliveryResult(provider_message_id=None, reply=reply, bounced=bounced)


def _bounces(tx: Transaction, refusals: Iterable[tuple[str, int, str]]) -> tuple[Bounce, ...]:
    found = (Bounce.of(tx.named.get(r, r), code, message) for r, code, message in refusals)
    return tuple(bounce for bounce in found if bounce is not None)


async def _after_refusal(route: Route, session: Session, code: int, message: str) -> None:
    """A refused transaction: back the host off when it asks, keep the session if it can
    serve the next message (RSET), else close it."""
    if asks_to_back_off(code, message):
        await route.backoff.back_off(session.host, reply_text(f"{code} {message}", 120))
        await route.pool.release(session, reusable=False)
        return
    await _reset(route, session)


async def _reset(route: Route, session: Session) -> None:
    ok = False
    if session.client.is_connected:
        with contextlib.suppress(*TRANSIENT):
            await session.client.rset()
            ok = True
    await route.pool.release(session, reusable=ok)
