"""``AsyncMailPass``: the asyncio client (httpx), the same resources as ``MailPass``."""

from __future__ import annotations

import asyncio
import builtins
from collections.abc import AsyncIterator
from typing import Any, TypeVar, Unpack

import httpx

from mailpass_client import _http, calls
from mailpass_client import types as t
from mailpass_client.calls import (
    BatchParams,
    MessageStatus,
    Op,
    SendParams,
    TemplatedSendParams,
    WebhookParams,
)
from mailpass_client.errors import ConnectionFailedError, RequestTimeoutError

T = TypeVar("T")


class AsyncMailPass:
    """``AsyncMailPass(api_key, base_url=...)``; use ``async with`` or ``await aclose()``."""

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout: float = _http.DEFAULT_TIMEOUT,
        max_retries: int = _http.DEFAULT_MAX_RETRIES,
        http_client: httpx.AsyncClient | None = None,
    ) -> None:
        self.max_retries = max_retries
        self._http = http_client or httpx.AsyncClient(timeout=timeout)
        self._http.base_url = httpx.URL(_http.base_url_of(base_url))
        self._http.headers.update(_http.client_headers(api_key))
        self.mail = AsyncMail(self)
        self.messages = AsyncMessages(self)
        self.suppressions = AsyncSuppressions(self)
        self.webhooks = AsyncWebhooks(self)

    async def run(self, op: Op[T]) -> T:
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = await self._http.send(op.call.request(self._http))
            except httpx.TransportError as exc:
                if attempt >= self.max_retries or not _http.retried_error(op.call, exc):
                    kind = (
                        RequestTimeoutError
                        if isinstance(exc, httpx.TimeoutException)
                        else (ConnectionFailedError)
                    )
                    raise kind(f"{op.call.method} {op.call.path}: {exc!r}") from exc
            if response is not None and not (
                attempt < self.max_retries and _http.should_retry(op.call, response)
            ):
                return op.read(_http.decoded(response))
            attempt += 1
            await asyncio.sleep(_http.wait_before_retry(attempt, response))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncMailPass:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class _AsyncResource:
    def __init__(self, client: AsyncMailPass) -> None:
        self._client = client


class AsyncMail(_AsyncResource):
    async def send(
        self, *, idempotency_key: str | None = None, **params: Unpack[SendParams]
    ) -> t.SendResult:
        return await self._client.run(calls.send(params, idempotency_key))

    async def send_template(
        self, *, idempotency_key: str | None = None, **params: Unpack[TemplatedSendParams]
    ) -> t.SendResult:
        return await self._client.run(calls.send(params, idempotency_key))

    async def send_batch(
        self,
        messages: list[SendParams] | list[TemplatedSendParams] | list[dict[str, Any]],
        *,
        idempotency_key: str | None = None,
        **params: Unpack[BatchParams],
    ) -> t.BatchResult:
        return await self._client.run(calls.send_batch(messages, params, idempotency_key))

    async def status(
        self, message_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> t.StatusResult:
        return await self._client.run(calls.status(message_id, limit, cursor))


class AsyncMessages(_AsyncResource):
    async def list(
        self,
        *,
        status: MessageStatus | None = None,
        tag: str | None = None,
        to: str | None = None,
        created_after: str | None = None,
        created_before: str | None = None,
        sandbox: bool | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> t.MessagePage:
        filters = dict(locals())
        del filters["self"]
        return await self._client.run(calls.list_messages(filters))

    async def iterate(self, **filters: Any) -> AsyncIterator[t.MessageSummary]:
        cursor = None
        while True:
            page = await self.list(**filters, cursor=cursor)
            for message in page.messages:
                yield message
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def cancel(self, message_id: str) -> t.CancelResult:
        return await self._client.run(calls.cancel(message_id))

    async def resend(self, message_id: str) -> t.ResendResult:
        return await self._client.run(calls.resend(message_id))


class AsyncSuppressions(_AsyncResource):
    async def list(
        self, *, limit: int | None = None, cursor: str | None = None, prefix: str | None = None
    ) -> t.SuppressionPage:
        return await self._client.run(calls.list_suppressions(limit, cursor, prefix))

    async def iterate(self, *, prefix: str | None = None) -> AsyncIterator[t.SuppressionView]:
        cursor = None
        while True:
            page = await self.list(cursor=cursor, prefix=prefix)
            for entry in page.suppressions:
                yield entry
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    async def add(self, address: str, *, note: str | None = None) -> t.SuppressionView:
        return await self._client.run(calls.add_suppression(address, note))

    async def remove(self, address: str) -> t.Removed:
        return await self._client.run(calls.remove_suppression(address))


class AsyncWebhooks(_AsyncResource):
    async def list(self, *, limit: int | None = None, cursor: str | None = None) -> t.WebhookPage:
        return await self._client.run(calls.list_webhooks(limit, cursor))

    async def create(self, url: str, events: builtins.list[str]) -> t.CreatedWebhook:
        return await self._client.run(calls.create_webhook(url, events))

    async def get(self, endpoint_id: str) -> t.WebhookView:
        return await self._client.run(calls.get_webhook(endpoint_id))

    async def update(self, endpoint_id: str, **changes: Unpack[WebhookParams]) -> t.WebhookView:
        return await self._client.run(calls.update_webhook(endpoint_id, changes))

    async def delete(self, endpoint_id: str) -> None:
        await self._client.run(calls.delete_webhook(endpoint_id))

    async def rotate_secret(
        self, endpoint_id: str, *, overlap_seconds: int | None = None
    ) -> t.CreatedWebhook:
        return await self._client.run(calls.rotate_webhook_secret(endpoint_id, overlap_seconds))
