"""An httpx client whose every connection obeys the egress policy
(``mailpass_common.platform.egress``).

Where the check sits, and why there. A check in an event hook, or a resolve-then-check
before the request, leaves httpx to resolve the name again when it connects: a rebinding
name answers a public address to the check and 127.0.0.1 to the connect. Rewriting each
request's URL to a checked IP (keeping ``Host`` and setting the ``sni_hostname``
extension) closes that, but costs a DNS lookup per request and keys the connection pool
by IP. Instead the check lives in the *network backend* of httpcore's connection pool,
the public extension point httpcore documents for custom DNS handling: its
``connect_tcp(host, port)`` is the one place a name becomes a socket, so resolving there,
checking every answer and connecting to a checked IP leaves no second resolution, and it
runs only when the pool opens a connection (kept-alive connections cost nothing). TLS is
untouched: httpcore starts it on that stream with the URL's host name as
``server_hostname``, so SNI and certificate verification are those of the name.

httpx (0.28) does not take a network backend (encode/httpx discussion #3180, PR #3749),
so :class:`EgressTransport` builds httpx's own transport and replaces its pool; the
version is pinned in the lock, and ``tests/delivery/test_egress.py`` fails if the
replacement stops taking effect. The client ignores proxy environment variables
(``trust_env=False``): a proxy would resolve names itself, out of the policy's sight;
redirects are not followed (httpx's default), so a response cannot send us elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpcore
import httpx

from mailpass_common.platform.egress import EgressPolicy


class EgressNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves and checks the host itself, then connects to a checked address."""

    def __init__(self, policy: EgressPolicy) -> None:
        self._policy = policy
        self._network = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        try:
            addresses = await self._policy.resolve(host, port)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from exc
        except OSError as exc:  # does not resolve: a connection error like any other
            raise httpcore.ConnectError(f"{host} does not resolve: {exc}") from exc
        failure: Exception | None = None
        for address in addresses:
            try:
                return await self._network.connect_tcp(
                    address,
                    port,
                    timeout=timeout,
                    local_address=local_address,
                    socket_options=socket_options,
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
        assert failure is not None  # resolve() returned at least one address
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise httpcore.ConnectError("a provider is never reached through a Unix socket")

    async def sleep(self, seconds: float) -> None:
        await self._network.sleep(seconds)


class EgressTransport(httpx.AsyncHTTPTransport):
    """httpx's transport, with a connection pool that connects through the policy."""

    def __init__(self, policy: EgressPolicy) -> None:
        super().__init__(trust_env=False)
        limits = httpx.Limits()
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),  # SSL_CERT_FILE/DIR still apply
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=EgressNetworkBackend(policy),
        )


def egress_client(policy: EgressPolicy, timeout: float) -> httpx.AsyncClient:
    """An HTTP client for provider APIs: no proxies, no redirects, every connect checked."""
    return httpx.AsyncClient(timeout=timeout, transport=EgressTransport(policy), trust_env=False)
