"""What the HTTP API providers (SendGrid, Mailgun) share: one client, one failure rule.

The rule is the platform's: transport errors, timeouts, HTTP 429 and 5xx are temporary
(worth a retry or another provider); any other non-success status is permanent.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from mailpass_common.delivery.base import (
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)

DEFAULT_TIMEOUT_SECONDS = 30.0


class HttpApiProvider:
    """An httpx client against ``base_url``; subclasses name the API and read its errors."""

    api_name: ClassVar[str]

    def __init__(
        self,
        config: dict[str, Any],
        *,
        default_base_url: str,
        client: httpx.AsyncClient | None,
        auth: httpx.Auth | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._base_url = str(config.get("base_url") or default_base_url).rstrip("/")
        self._timeout = float(config.get("timeout") or DEFAULT_TIMEOUT_SECONDS)
        self._auth = auth
        self._headers = {"Accept": "application/json", **(headers or {})}
        # An injected client belongs to the caller (shared pools, tests); ours we close.
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=self._timeout)

    def error_detail(self, response: httpx.Response) -> str:
        """The API's own words for a failed response (overridden per API)."""
        return response.text.strip()[:500]

    def failure(self, response: httpx.Response) -> DeliveryError:
        detail = self.error_detail(response) or response.reason_phrase
        reply = f"{self.api_name} HTTP {response.status_code}: {detail}"
        if response.status_code == 429 or response.status_code >= 500:
            return TemporaryDeliveryError(reply)
        return PermanentDeliveryError(reply)

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._client.request(
                method,
                f"{self._base_url}{path}",
                auth=self._auth,
                headers=self._headers,
                timeout=self._timeout,
                **kwargs,
            )
        except httpx.TransportError as exc:  # connect, read, write, pool errors, timeouts
            raise TemporaryDeliveryError(
                f"{self.api_name} request failed: {type(exc).__name__}: {exc}"
            ) from exc

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
