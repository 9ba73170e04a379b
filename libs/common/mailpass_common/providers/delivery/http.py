"""What the HTTP API providers (SendGrid, Mailgun, Postmark, Resend) share: one client,
one failure rule.

The rule is the platform's: transport errors, timeouts, HTTP 429 and 5xx are temporary
(worth a retry or another provider); any other non-success status is permanent.

Where they may connect: the official API hosts of their type (its plugin's ``api_hosts``)
or a host the operator allows, and only addresses the egress policy allows, checked at
each connect (``egress_http``). A failure's reply is the status line plus the message the
API's documented error body carries; the body itself is never repeated.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx

from mailpass_common.platform.egress import EgressPolicy, EgressRefused
from mailpass_common.providers.delivery.base import (
    DeliveryError,
    PermanentDeliveryError,
    TemporaryDeliveryError,
    reply_text,
)
from mailpass_common.providers.delivery.egress_http import egress_client

DEFAULT_TIMEOUT_SECONDS = 30.0


def json_mailbox(address: str, name: str | None) -> str:
    """``Name <address>`` as the JSON APIs take a sender (the name quoted when it must be)."""
    if not name:
        return address
    if any(c in name for c in '",;<>@()[]:\\'):
        name = '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name} <{address}>"


class HttpApiProvider:
    """An httpx client against ``base_url``; subclasses name the API and read its errors."""

    type: str
    api_name: ClassVar[str]

    def __init__(
        self,
        *,
        base_url: str | None,
        timeout: float | None,
        default_base_url: str,
        api_hosts: tuple[str, ...],
        egress: EgressPolicy,
        auth: httpx.Auth | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._base_url = (base_url or default_base_url).rstrip("/")
        refusal = egress.api_url_refusal(api_hosts, self._base_url)
        if refusal is not None:  # saved before the rule existed, or the operator changed it
            raise ValueError(f"base_url {refusal}")
        self._timeout = timeout or DEFAULT_TIMEOUT_SECONDS
        self._auth = auth
        self._headers = {"Accept": "application/json", **(headers or {})}
        self._client = egress_client(egress, self._timeout)

    @staticmethod
    def json_object(response: httpx.Response) -> dict[str, Any]:
        """The response's body if it is a JSON object, else an empty one."""
        try:
            body = response.json()
        except ValueError:
            return {}
        return body if isinstance(body, dict) else {}

    def error_detail(self, response: httpx.Response) -> str:
        """The message of the API's documented error body (overridden per API); "" when
        the body is not one."""
        return ""

    def failure(self, response: httpx.Response) -> DeliveryError:
        detail = reply_text(self.error_detail(response)) or response.reason_phrase
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
        except EgressRefused as exc:
            raise PermanentDeliveryError(f"{self.api_name}: {exc}") from exc
        except httpx.TransportError as exc:  # connect, read, write, pool errors, timeouts
            raise TemporaryDeliveryError(
                f"{self.api_name} request failed: {type(exc).__name__}: {exc}"
            ) from exc

    async def close(self) -> None:
        await self._client.aclose()
