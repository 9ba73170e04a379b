"""DNS look-ups for checking a sending domain's records, treating every answer as hostile.

A look-up never raises: it answers :class:`TxtAnswer` / :class:`MxAnswer` with what was
found, or says the name has nothing (NXDOMAIN, no record of the type), or that the look-up
itself failed (timeout, SERVFAIL, a malformed answer), which is not the same thing: a
record that could not be looked up keeps the status it had.

Bounds, whatever the server sends: the resolver's own time limit (``mta.resolver``), then
an overall one here; at most ``MAX_RECORDS`` records read; a TXT record's strings joined
up to ``MAX_TXT_CHARS`` (longer ones are flagged, never matched); text decoded without
failing and with control characters replaced, so it can be stored and shown.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

import dns.asyncresolver
import dns.exception
import dns.rdatatype
import dns.resolver

from mailpass_common.mta.resolver import make_resolver

log = logging.getLogger(__name__)

MAX_RECORDS = 16
MAX_TXT_CHARS = 2048  # an RSA 4096 DKIM record is about 800 characters
OVERALL_TIMEOUT_SECONDS = 8.0
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class TxtAnswer:
    records: list[str] = field(default_factory=list)  # each record's strings joined
    error: str | None = None  # the look-up failed: nothing is known about the name
    oversized: bool = False  # a record longer than MAX_TXT_CHARS was cut


@dataclass(frozen=True)
class MxAnswer:
    hosts: list[tuple[int, str]] = field(default_factory=list)  # (preference, exchange)
    error: str | None = None


def checking_resolver(nameservers: Sequence[str]) -> dns.asyncresolver.Resolver:
    """The MTA's resolver (:func:`~mailpass_common.mta.resolver.make_resolver`) for checking
    records; when the system's cannot be read (no ``/etc/resolv.conf``), one without
    servers, whose look-ups all fail and say so, rather than a failed request."""
    try:
        return make_resolver(nameservers)
    except dns.resolver.NoResolverConfiguration:
        log.warning("no DNS resolver configured: sending domains cannot be checked")
        return dns.asyncresolver.Resolver(configure=False)


def clean_text(raw: bytes | str, limit: int | None = None) -> str:
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    return _CONTROL.sub("\ufffd", text[: MAX_TXT_CHARS if limit is None else limit])


async def lookup_txt(resolver: dns.asyncresolver.Resolver, name: str) -> TxtAnswer:
    answer = await _resolve(resolver, name, "TXT")
    if isinstance(answer, str):
        return TxtAnswer(error=answer)
    records, oversized = [], False
    for rdata in list(answer)[:MAX_RECORDS]:
        strings = getattr(rdata, "strings", ())
        raw = b"".join(s for s in strings[:256] if isinstance(s, bytes))
        oversized = oversized or len(raw) > MAX_TXT_CHARS
        records.append(clean_text(raw))
    return TxtAnswer(records=records, oversized=oversized)


async def lookup_mx(resolver: dns.asyncresolver.Resolver, name: str) -> MxAnswer:
    answer = await _resolve(resolver, name, "MX")
    if isinstance(answer, str):
        return MxAnswer(error=answer)
    hosts = []
    for rdata in list(answer)[:MAX_RECORDS]:
        exchange = getattr(rdata, "exchange", None)
        preference = getattr(rdata, "preference", None)
        if exchange is None or not isinstance(preference, int):
            continue
        hosts.append((preference, clean_text(exchange.to_text(omit_final_dot=True), 255)))
    return MxAnswer(hosts=sorted(hosts))


async def _resolve(
    resolver: dns.asyncresolver.Resolver, name: str, rdtype: str
) -> list[object] | str:
    """The answer's records (empty: the name has none of the type), or why it failed."""
    try:
        answer = await asyncio.wait_for(
            resolver.resolve(name, rdtype, raise_on_no_answer=False, search=False),
            OVERALL_TIMEOUT_SECONDS,
        )
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return []
    except (TimeoutError, dns.exception.Timeout):
        return "the DNS look-up timed out"
    except dns.resolver.NoNameservers:
        return "no DNS server answered (SERVFAIL or refused)"
    except dns.exception.DNSException as exc:
        return f"the DNS look-up failed: {type(exc).__name__}"
    except Exception:  # an answer dnspython could not handle must not fail the caller
        log.warning("DNS look-up of %s %s failed", rdtype, name, exc_info=True)
        return "the DNS look-up failed"
    if answer.rrset is None:
        return []
    expected = dns.rdatatype.from_text(rdtype)
    return [rdata for rdata in answer.rrset if rdata.rdtype == expected]
