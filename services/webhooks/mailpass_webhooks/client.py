"""POSTing one webhook: through the egress policy, bounded in time and in what is read.

The client is the providers' (``delivery.egress_http``): every connection goes to an
address the egress policy checked a moment before (no private, loopback, link-local or
metadata address unless the operator allows its network), no proxy, no redirect
followed (a 3xx is a failed attempt, so an endpoint cannot send us elsewhere). The
whole request, connect to last byte read, has ``WEBHOOK_TIMEOUT_SECONDS``; at most
``MAX_RESPONSE_BYTES`` of the response are read, undecoded (no decompression bomb), and
only a one-line excerpt of them is kept (``attempts.excerpt``). Whatever fails, the
result says so (a failed attempt, recorded and retried): nothing a URL holds can make a
delivery raise, which would leave no attempt and requeue the job until the broker's
delivery limit.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import httpx

from mailpass_common.platform.egress import EgressPolicy, EgressRefused
from mailpass_common.providers.delivery.egress_http import egress_client
from mailpass_common.webhooks.attempts import excerpt

MAX_RESPONSE_BYTES = 4096
USER_AGENT = "MailPass-Webhooks/1.0"


@dataclass(frozen=True)
class PostResult:
    status_code: int | None  # None: no response (refused, unreachable, timed out)
    response: str | None
    error: str | None
    seconds: float

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class WebhookClient:
    def __init__(self, policy: EgressPolicy, timeout_seconds: float) -> None:
        self._timeout = timeout_seconds
        self._client = egress_client(policy, timeout_seconds)

    async def post(self, url: str, body: bytes, headers: dict[str, str]) -> PostResult:
        started = time.perf_counter()
        status: int | None = None
        received = b""
        error: str | None = None
        try:
            async with asyncio.timeout(self._timeout):
                request_headers = {
                    **headers,
                    "content-type": "application/json",
                    "user-agent": USER_AGENT,
                }
                async with self._client.stream(
                    "POST", url, content=body, headers=request_headers
                ) as response:
                    status = response.status_code
                    async for chunk in response.aiter_raw():
                        received += chunk
                        if len(received) >= MAX_RESPONSE_BYTES:
                            break
        except EgressRefused as exc:
            error = f"refused by the egress policy: {exc}"
        except TimeoutError:
            error = f"no complete response within {self._timeout:g} s"
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        except Exception as exc:  # e.g. a URL saved before the rules: a recorded failure
            error = f"the request could not be made: {type(exc).__name__}: {exc}"[:300]
        if error is not None:
            status = None  # a response cut off is no response
        elapsed = time.perf_counter() - started
        shown = excerpt(received[:MAX_RESPONSE_BYTES]) if status is not None else None
        return PostResult(status, shown, error, elapsed)

    async def close(self) -> None:
        await self._client.aclose()
