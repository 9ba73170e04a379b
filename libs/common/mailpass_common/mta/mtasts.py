"""MTA-STS (RFC 8461): a recipient domain's published demand for authenticated TLS.

A domain that publishes a ``_mta-sts.<domain>`` TXT record (``v=STSv1; id=...``) serves a
policy at ``https://mta-sts.<domain>/.well-known/mta-sts.txt``: a mode (``enforce``,
``testing``, ``none``), the MX host patterns mail may go to, and how long the policy may be
cached (``max_age``). In ``enforce`` mode mail goes only to MX hosts the patterns match,
over STARTTLS with a certificate that verifies for the MX host's name; anything less is a
temporary failure. ``testing`` and ``none`` change nothing here (no TLSRPT reports).

Caching, as §5.1 says: a policy is kept until its ``max_age`` ends. The TXT record is
looked up for every delivery (the resolver caches it by its TTL; a domain found without
one is asked again after :data:`ABSENT_SECONDS`); the policy is fetched
again only when the record's ``id`` changed, and a failed fetch keeps the cached policy:
an attacker who blocks the fetch or strips the record cannot downgrade a domain whose
policy we already hold. Without a cached policy, a failed fetch means no policy (TOFU).

The fetch is hostile-input handling like any other: HTTPS with the certificate verified
for ``mta-sts.<domain>``, no redirects, the egress policy on the address, a time limit,
and at most :data:`MAX_POLICY_BYTES` of body (RFC 8461 §3.3 suggests 64 KiB).
"""

from __future__ import annotations

import asyncio
import re
import ssl
import time
from collections import OrderedDict
from dataclasses import dataclass, replace

import dns.asyncresolver
import httpcore

from mailpass_common.mta import mx
from mailpass_common.platform.egress import EgressPolicy
from mailpass_common.providers.delivery.egress_http import EgressNetworkBackend

MAX_POLICY_BYTES = 64 * 1024
MAX_AGE_LIMIT = 31_557_600  # RFC 8461 §3.2: up to one year
MAX_MX_PATTERNS = 64
MAX_CACHED_DOMAINS = 10_000
FETCH_TIMEOUT_SECONDS = 10.0
# A domain without a record is asked again after this long, not at every message (its
# NXDOMAIN is not always cacheable: an answer without SOA has no negative TTL).
ABSENT_SECONDS = 60.0
_ID = re.compile(r"^[A-Za-z0-9]{1,32}$")
_PATTERN = re.compile(r"^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)+$")


class PolicyError(Exception):
    """A policy that could not be fetched or parsed: no new policy is taken from it."""


@dataclass(frozen=True)
class Policy:
    mode: str  # enforce | testing | none
    mx: tuple[str, ...]
    max_age: int
    id: str = ""

    @property
    def enforced(self) -> bool:
        return self.mode == "enforce"

    def allows(self, host: str) -> bool:
        """Whether ``host`` matches a pattern: exact, or ``*.`` standing for one label."""
        host = host.lower().rstrip(".")
        for pattern in self.mx:
            if pattern.startswith("*."):
                label, _, rest = host.partition(".")
                if label and rest == pattern[2:]:
                    return True
            elif host == pattern:
                return True
        return False


def parse_record(texts: list[str]) -> str | None:
    """The ``id`` of the one STSv1 record among a name's TXT records, else None (none, or
    several: §3.1 says to treat that as no record)."""
    found = [t for t in texts if t.startswith("v=STSv1")]
    if len(found) != 1:
        return None
    fields = dict(part.strip().partition("=")[::2] for part in found[0].split(";") if "=" in part)
    record_id = fields.get("id", "").strip()
    return record_id if _ID.match(record_id) else None


def parse_policy(body: str, record_id: str = "") -> Policy:
    """A policy file (``key: value`` lines); PolicyError when it is not a valid STSv1 one."""
    fields: dict[str, str] = {}
    patterns: list[str] = []
    for line in body.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "mx":
            if len(patterns) >= MAX_MX_PATTERNS:
                raise PolicyError(f"more than {MAX_MX_PATTERNS} mx patterns")
            pattern = value.lower().rstrip(".")
            if not _PATTERN.match(pattern):
                raise PolicyError(f"bad mx pattern {value[:80]!r}")
            patterns.append(pattern)
        else:
            fields.setdefault(key, value)
    if fields.get("version") != "STSv1":
        raise PolicyError("version is not STSv1")
    mode = fields.get("mode")
    if mode not in ("enforce", "testing", "none"):
        raise PolicyError("mode must be enforce, testing or none")
    try:
        max_age = int(fields.get("max_age", ""))
    except ValueError:
        raise PolicyError("max_age is not a number") from None
    if not 0 <= max_age <= MAX_AGE_LIMIT:
        raise PolicyError("max_age out of range")
    if mode != "none" and not patterns:
        raise PolicyError("no mx pattern")
    return Policy(mode, tuple(patterns), max_age, record_id)


class PolicyCache:
    """Each recipient domain's policy, fetched when its record's id changes (module doc)."""

    def __init__(
        self,
        resolver: dns.asyncresolver.Resolver,
        egress: EgressPolicy,
        *,
        tls_context: ssl.SSLContext | None = None,
        timeout: float = FETCH_TIMEOUT_SECONDS,
        https_port: int = 443,
    ) -> None:
        self._resolver = resolver
        self._https_port = https_port
        self._timeout = timeout
        self._policies: OrderedDict[str, tuple[Policy, float]] = OrderedDict()
        self._absent: OrderedDict[str, float] = OrderedDict()  # domain -> checked until
        self._http = httpcore.AsyncConnectionPool(
            ssl_context=tls_context or ssl.create_default_context(),
            max_connections=16,
            max_keepalive_connections=0,  # one fetch per domain and max_age: nothing to keep
            network_backend=EgressNetworkBackend(replace(egress, resolver=self._addresses)),
        )

    async def _addresses(self, host: str, port: int) -> list[str]:
        try:
            return await mx.addresses(self._resolver, host)
        except (mx.DomainRefusesMail, mx.LookupFailed) as exc:
            raise OSError(str(exc)) from exc

    async def policy(self, domain: str) -> Policy | None:
        """The domain's policy in force now, or None."""
        domain = domain.lower().rstrip(".")
        cached = self._policies.get(domain)
        now = time.monotonic()
        if cached is not None and cached[1] <= now:
            del self._policies[domain]
            cached = None
        if cached is None and self._absent.get(domain, 0.0) > now:
            return None  # no record a moment ago
        record_id = await self._record_id(domain)
        if record_id is None and cached is None:
            self._absent[domain] = now + ABSENT_SECONDS
            self._absent.move_to_end(domain)
            while len(self._absent) > MAX_CACHED_DOMAINS:
                self._absent.popitem(last=False)
        if record_id is None or (cached is not None and cached[0].id == record_id):
            return None if cached is None else cached[0]
        try:
            async with asyncio.timeout(self._timeout):  # a server dripping bytes included
                body = await self._fetch(domain)
            policy = parse_policy(body, record_id)
        except (
            PolicyError,
            OSError,
            httpcore.NetworkError,
            httpcore.TimeoutException,
            httpcore.ProtocolError,
            httpcore.UnsupportedProtocol,
            UnicodeDecodeError,
        ):
            return None if cached is None else cached[0]
        self._policies[domain] = (policy, now + policy.max_age)
        self._policies.move_to_end(domain)
        while len(self._policies) > MAX_CACHED_DOMAINS:
            self._policies.popitem(last=False)
        return policy

    async def _record_id(self, domain: str) -> str | None:
        try:
            answer = await mx._query(self._resolver, f"_mta-sts.{domain}", "TXT")
        except (mx.DomainRefusesMail, mx.LookupFailed):
            return None
        if answer is None:
            return None
        texts = [b"".join(r.strings)[:1024].decode("ascii", "replace") for r in list(answer)[:16]]
        return parse_record(texts)

    async def _fetch(self, domain: str) -> str:
        port = "" if self._https_port == 443 else f":{self._https_port}"
        url = f"https://mta-sts.{domain}{port}/.well-known/mta-sts.txt"
        extensions = {"timeout": dict.fromkeys(("connect", "read", "write", "pool"), self._timeout)}
        async with self._http.stream("GET", url, extensions=extensions) as response:
            if response.status != 200:
                raise PolicyError(f"{url} answered {response.status}")
            body = b""
            async for chunk in response.aiter_stream():
                body += chunk
                if len(body) > MAX_POLICY_BYTES:
                    raise PolicyError(f"{url} is larger than {MAX_POLICY_BYTES} bytes")
        return body.decode("utf-8")

    async def close(self) -> None:
        await self._http.aclose()
