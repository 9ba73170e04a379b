"""Where a recipient domain's mail goes: its MX hosts and their addresses (RFC 5321 §5.1).

MX records are used in order of preference, equal preferences in random order (spreading
load as the RFC asks). A domain with no MX record but an address record is its own mail
host (the "implicit MX"). A null MX (RFC 7505: one record, preference 0, exchange ``.``)
says the domain accepts no mail, and a domain that does not exist (NXDOMAIN) never will:
both fail the recipient at once. A DNS server that does not answer, or answers SERVFAIL,
is a temporary failure.

DNS answers are the internet's word, so what is taken from them is bounded: at most
:data:`MAX_MX_HOSTS` hosts (the most preferred), :data:`MAX_ADDRESSES` addresses per host,
and every look-up is limited in time by the resolver (``mta.resolver``). Which addresses
may be connected to is the egress policy's decision (``mailpass_common.platform.egress``): a
domain can point its MX at our own network, so the addresses are checked before any
connection, as for providers.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.name
import dns.rdatatype
import dns.resolver

MAX_MX_HOSTS = 10
MAX_ADDRESSES = 8


class DomainRefusesMail(Exception):
    """The domain accepts no mail, for good (null MX, NXDOMAIN, no mail host at all)."""


class LookupFailed(Exception):
    """DNS did not answer well enough to decide (timeout, SERVFAIL): try again later."""


@dataclass(frozen=True)
class MxHost:
    name: str  # lower case, without the trailing dot
    preference: int


def _host_name(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower()


async def _query(resolver: dns.asyncresolver.Resolver, name: str, rdtype: str) -> Any:
    """The answer's records; None when the name exists without records of this type.

    Raises DomainRefusesMail for NXDOMAIN and LookupFailed for anything undecided."""
    try:
        return await resolver.resolve(name, rdtype, search=False)
    except dns.resolver.NXDOMAIN as exc:
        raise DomainRefusesMail(f"{name} does not exist (NXDOMAIN)") from exc
    except dns.resolver.NoAnswer:
        return None
    except (dns.exception.Timeout, dns.resolver.NoNameservers) as exc:
        raise LookupFailed(f"DNS look-up of {name} {rdtype} failed: {exc}") from exc
    except dns.exception.DNSException as exc:  # malformed answers, bad names, ...
        raise LookupFailed(f"DNS look-up of {name} {rdtype} failed: {type(exc).__name__}") from exc


async def mx_hosts(
    resolver: dns.asyncresolver.Resolver, domain: str, rng: random.Random | None = None
) -> list[MxHost]:
    """The domain's mail hosts, most preferred first (at most MAX_MX_HOSTS)."""
    answer = await _query(resolver, domain, "MX")
    if answer is None:
        # No MX: the domain itself, if it has an address (RFC 5321 §5.1).
        if not await addresses(resolver, domain):
            raise DomainRefusesMail(f"{domain} has no MX and no address record")
        return [MxHost(domain.lower().rstrip("."), 0)]
    records = [(int(r.preference), _host_name(r.exchange)) for r in answer]
    if any(name in ("", ".") for _, name in records):
        if len(records) == 1 and records[0][0] == 0:
            raise DomainRefusesMail(f"{domain} accepts no mail (null MX, RFC 7505)")
        records = [(p, name) for p, name in records if name not in ("", ".")]
    shuffle = rng or random
    ordered = sorted(records, key=lambda r: (r[0], shuffle.random()))
    unique = list(dict.fromkeys(ordered))  # keyed by (preference, name)
    seen: set[str] = set()
    hosts = []
    for preference, name in unique:
        if name not in seen:
            seen.add(name)
            hosts.append(MxHost(name, preference))
    if not hosts:
        raise DomainRefusesMail(f"{domain} has no usable MX record")
    return hosts[:MAX_MX_HOSTS]


async def addresses(resolver: dns.asyncresolver.Resolver, host: str) -> list[str]:
    """The host's IPv4 then IPv6 addresses (at most MAX_ADDRESSES); [] when it has none.

    Raises DomainRefusesMail when the host does not exist, LookupFailed when DNS fails."""
    found: list[str] = []
    results = await asyncio.gather(
        _query(resolver, host, "A"), _query(resolver, host, "AAAA"), return_exceptions=True
    )
    failures = [r for r in results if isinstance(r, BaseException)]
    for result in results:
        if result is not None and not isinstance(result, BaseException):
            found += [r.address for r in result]
    if not found and failures:
        raise failures[0]
    return list(dict.fromkeys(found))[:MAX_ADDRESSES]
