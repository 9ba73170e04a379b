"""The DNS resolver of MailPass's own delivery: the servers ``MTA_DNS_NAMESERVERS`` names
(``host[:port]``, IPv6 as ``[addr]:port``), or the system's (``/etc/resolv.conf``).

Every look-up is bounded: ``timeout`` per server try and ``lifetime`` in all, so a slow or
silent server costs a delivery attempt seconds, never a hung sender. What comes back is
still the internet's word: callers bound the counts and sizes they accept.

A sender looks up the same few names for every message (a burst to one domain), so the
resolver (:class:`MtaResolver`) joins look-ups of a name already under way instead of
sending one query per message (hundreds at once when a burst starts or a TTL ends), and,
when caching is on (``resolver.cache``, the engine's), answers from the cache before
dnspython's per-query machinery (name parsing, a resolution per call), which cost more CPU
than the rest of a delivery's routing. Answers are kept for their TTL, as dnspython's
cache keeps them.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import dns.asyncresolver
import dns.name
import dns.nameserver
import dns.rdataclass
import dns.rdatatype
import dns.resolver

from mailpass_common.platform.nameservers import parse_nameservers

TIMEOUT_SECONDS = 2.0
LIFETIME_SECONDS = 5.0
MAX_FRESH_ANSWERS = 10_000


def make_resolver(
    nameservers: Sequence[str] = (),
    *,
    timeout: float = TIMEOUT_SECONDS,
    lifetime: float = LIFETIME_SECONDS,
) -> dns.asyncresolver.Resolver:
    """A resolver asking ``nameservers`` (the system's when empty), bounded in time."""
    servers = parse_nameservers(nameservers)
    resolver = MtaResolver(configure=not servers)
    if servers:
        resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in servers]
    resolver.timeout = timeout
    resolver.lifetime = lifetime
    return resolver


class MtaResolver(dns.asyncresolver.Resolver):
    """dnspython's resolver, joining identical look-ups and answering cached ones quickly
    (module docstring)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pending: dict[tuple[Any, ...], asyncio.Future[dns.resolver.Answer]] = {}
        self._fresh: dict[tuple[Any, ...], dns.resolver.Answer] = {}

    async def resolve(
        self,
        qname: dns.name.Name | str,
        rdtype: dns.rdatatype.RdataType | str = dns.rdatatype.A,
        rdclass: dns.rdataclass.RdataClass | str = dns.rdataclass.IN,
        tcp: bool = False,
        source: str | None = None,
        raise_on_no_answer: bool = True,
        source_port: int = 0,
        lifetime: float | None = None,
        search: bool | None = None,
        backend: Any = None,
    ) -> dns.resolver.Answer:
        key = (str(qname).lower(), str(rdtype), str(rdclass), tcp, source, source_port, search)
        if self.cache is not None:
            fresh = self._fresh.get(key)
            if fresh is not None and fresh.expiration > time.time():
                return fresh
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(
                super().resolve(
                    qname,
                    rdtype,
                    rdclass,
                    tcp,
                    source,
                    False,
                    source_port,
                    lifetime,
                    search,
                    backend,
                )
            )
            self._pending[key] = pending
            pending.add_done_callback(lambda done: self._settled(key, done))
        answer = await asyncio.shield(pending)
        if answer.rrset is None and raise_on_no_answer:
            raise dns.resolver.NoAnswer(response=answer.response)  # type: ignore[no-untyped-call]
        return answer

    def _settled(self, key: tuple[Any, ...], done: asyncio.Future[dns.resolver.Answer]) -> None:
        if self._pending.get(key) is done:
            del self._pending[key]
        if done.cancelled() or done.exception() is not None:
            return  # (the exception is retrieved: every waiter may have gone)
        answer = done.result()
        if self.cache is not None and answer.rrset is not None:
            if len(self._fresh) >= MAX_FRESH_ANSWERS:
                self._fresh.clear()
            self._fresh[key] = answer
