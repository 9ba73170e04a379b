"""The MTA's resolver: a burst of deliveries to one domain asks DNS once, and answers
from the cache while the records' TTL lasts (a real DNS server, unbound)."""

from __future__ import annotations

import asyncio

import pytest
from dns.resolver import LRUCache, NoAnswer

from mailpass_common.mta import mx
from mailpass_common.mta.resolver import make_resolver
from tests.mta.support import new_domain
from tests.support.dns import TestDns


async def test_a_burst_asks_once_and_the_cache_answers_until_the_ttl_ends(dns: TestDns) -> None:
    domain = new_domain()
    dns.add(domain, "MX", f"10 mx.{domain}.", 300)
    alone = make_resolver([dns.nameserver])
    alone.cache = LRUCache(100)
    await mx.mx_hosts(alone, domain)
    one_query = alone.cache.misses()  # what dnspython's cache counts for one query
    resolver = make_resolver([dns.nameserver])
    resolver.cache = LRUCache(100)

    burst = await asyncio.gather(*(mx.mx_hosts(resolver, domain) for _ in range(50)))

    assert all(hosts == [mx.MxHost(f"mx.{domain}", 10)] for hosts in burst)
    assert resolver.cache.misses() == one_query  # one query for the fifty look-ups
    await asyncio.gather(*(mx.mx_hosts(resolver, domain) for _ in range(50)))
    assert resolver.cache.misses() == one_query

    short = new_domain()
    dns.add(short, "MX", f"10 mx.{short}.", 0)  # TTL 0: never served from the cache
    await mx.mx_hosts(resolver, short)
    await mx.mx_hosts(resolver, short)
    assert resolver.cache.misses() == 3 * one_query


async def test_joined_look_ups_share_the_failure_and_the_next_asks_again(dns: TestDns) -> None:
    resolver = make_resolver([dns.nameserver])  # no cache: dnspython's keeps NXDOMAIN
    missing = new_domain()

    results = await asyncio.gather(
        *(mx.mx_hosts(resolver, missing) for _ in range(10)), return_exceptions=True
    )

    assert all(isinstance(r, mx.DomainRefusesMail) for r in results)
    dns.add(missing, "MX", f"10 mx.{missing}.", 300)
    assert await mx.mx_hosts(resolver, missing) == [mx.MxHost(f"mx.{missing}", 10)]
    with pytest.raises(NoAnswer):  # a name without the type, as dnspython says
        await resolver.resolve(missing, "TXT", search=False)
