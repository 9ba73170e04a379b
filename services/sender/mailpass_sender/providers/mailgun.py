"""Mailgun delivery through the messages API with httpx.

Why ``POST /v3/{domain}/messages.mime`` and not ``/messages``: with ``/messages`` Mailgun
builds the MIME and assigns its own Message-ID, so replies and bounces would refer to an
id we never stored, and the message would differ from what SMTP providers deliver. With
``messages.mime`` we upload the MIME we built (``message`` file) and Mailgun delivers it
as it is, Message-ID, tracked links and headers included; ``to`` carries the envelope
recipients, which is the only place Bcc can be. Tags and metadata still travel as the
``o:tag`` and ``v:`` options, which this endpoint accepts, so Mailgun's events carry them.
"""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_sender.providers.base import (
    DeliveryError,
    DeliveryResult,
    OutgoingEmail,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)

DEFAULT_BASE_URL = "https://api.mailgun.net"  # EU accounts: https://api.eu.mailgun.net
DEFAULT_TIMEOUT_SECONDS = 30.0


def _error_reply(response: httpx.Response) -> str:
    """Mailgun answers errors with ``{"message": "..."}``, or plain text (``Forbidden``)."""
    detail = ""
    try:
        body = response.json()
        if isinstance(body, dict):
            detail = str(body.get("message") or "")
    except ValueError:
        pass
    detail = detail or response.text.strip()[:500] or response.reason_phrase
    return f"Mailgun HTTP {response.status_code}: {detail}"


def classify_response(response: httpx.Response) -> DeliveryError:
    reply = _error_reply(response)
    if response.status_code == 429 or response.status_code >= 500:
        return TemporaryDeliveryError(reply)
    return PermanentDeliveryError(reply)


def build_form(email: OutgoingEmail) -> dict[str, list[str]]:
    """The form fields besides the ``message`` file; a list is sent as repeated fields."""
    form = {"to": list(dict.fromkeys(email.recipients))}
    if email.tags:
        form["o:tag"] = list(dict.fromkeys(email.tags))
    form.update({f"v:{key}": [str(value)] for key, value in email.metadata.items()})
    return form


class MailgunProvider:
    type = "mailgun"

    def __init__(
        self,
        config: dict[str, Any],
        secrets: dict[str, Any],
        client: httpx.AsyncClient | None = None,
    ) -> None:
        if not config.get("domain"):
            raise ValueError("Mailgun provider needs a domain")
        if not secrets.get("api_key"):
            raise ValueError("Mailgun provider needs an api_key")
        self._domain = str(config["domain"])
        self._base_url = str(config.get("base_url") or DEFAULT_BASE_URL).rstrip("/")
        self._timeout = float(config.get("timeout") or DEFAULT_TIMEOUT_SECONDS)
        self._auth = httpx.BasicAuth("api", str(secrets["api_key"]))
        # An injected client belongs to the caller (shared pools, tests); ours we close.
        self._owns_client = client is None
        self._client = client or httpx.AsyncClient(timeout=self._timeout)

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return await self._client.request(
                method,
                f"{self._base_url}{path}",
                auth=self._auth,
                headers={"Accept": "application/json"},
                timeout=self._timeout,
                **kwargs,
            )
        except httpx.TransportError as exc:  # connect, read, write, pool errors, timeouts
            raise TemporaryDeliveryError(
                f"Mailgun request failed: {type(exc).__name__}: {exc}"
            ) from exc

    async def send(self, email: OutgoingEmail) -> DeliveryResult:
        mime = email.to_mime().as_bytes()
        response = await self._request(
            "POST",
            f"/v3/{self._domain}/messages.mime",
            data=build_form(email),
            # A file part, as in the reference's `curl -F message=@message.mime` example.
            files={"message": ("message.mime", mime, "application/octet-stream")},
        )
        if response.status_code != 200:
            raise classify_response(response)
        try:
            body = response.json()
        except ValueError:
            body = {}
        message_id = body.get("id") if isinstance(body, dict) else None
        reply = body.get("message") if isinstance(body, dict) else None
        return DeliveryResult(
            provider_message_id=str(message_id) if message_id else None,
            reply=f"Mailgun: {reply or 'accepted'}",
        )

    async def check(self) -> None:
        """``GET /v4/domains/{domain}`` proves the key and that the domain may send.

        The v3 domain endpoints are deprecated in Mailgun's reference in favour of v4.
        """
        response = await self._request("GET", f"/v4/domains/{self._domain}")
        if response.status_code != 200:
            raise classify_response(response)
        try:
            state = response.json()["domain"].get("state")
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise TemporaryDeliveryError("Mailgun returned an unreadable domain") from exc
        # "unverified" domains are refused for sending and "disabled" ones are blocked.
        if state != "active":
            raise PermanentDeliveryError(f"Mailgun domain {self._domain} is {state}, not active")

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()
