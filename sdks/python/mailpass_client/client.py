"""``MailPass``: the synchronous client (httpx)."""

from __future__ import annotations

import builtins
import time
from collections.abc import Iterator
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


class MailPass:
    """``MailPass(api_key, base_url=...)``; without ``base_url``, ``MAILPASS_BASE_URL``.

    ``timeout`` (seconds) bounds each attempt; ``max_retries`` bounds the retries of
    connection errors, 429 and 5xx (see :mod:`mailpass_client._http`).
    """

    def __init__(
        self,
        api_key: str,
        *,
        base_url: str | None = None,
        timeout: float = _http.DEFAULT_TIMEOUT,
        max_retries: int = _http.DEFAULT_MAX_RETRIES,
        http_client: httpx.Client | None = None,
    ) -> None:
        self.max_retries = max_retries
        self._http = http_client or httpx.Client(timeout=timeout)
        self._http.base_url = httpx.URL(_http.base_url_of(base_url))
        self._http.headers.update(_http.client_headers(api_key))
        self.mail = Mail(self)
        self.messages = Messages(self)
        self.suppressions = Suppressions(self)
        self.webhooks = Webhooks(self)

    def run(self, op: Op[T]) -> T:
        attempt = 0
        while True:
            response: httpx.Response | None = None
            try:
                response = self._http.send(op.call.request(self._http))
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
            time.sleep(_http.wait_before_retry(attempt, response))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> MailPass:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Resource:
    def __init__(self, client: MailPass) -> None:
        self._client = client


class Mail(_Resource):
    def send(
        self, *, idempotency_key: str | None = None, **params: Unpack[SendParams]
    ) -> t.SendResult:
        """``POST /api/v1/mail/send``: one email, now. ``status`` is ``sent`` or ``queued``."""
        return self._client.run(calls.send(params, idempotency_key))

    def send_template(
        self, *, idempotency_key: str | None = None, **params: Unpack[TemplatedSendParams]
    ) -> t.SendResult:
        """``POST /api/v1/mail/send`` from a stored template (``template_id``, ``variables``)."""
        return self._client.run(calls.send(params, idempotency_key))

    def send_batch(
        self,
        messages: list[SendParams] | list[TemplatedSendParams] | list[dict[str, Any]],
        *,
        idempotency_key: str | None = None,
        **params: Unpack[BatchParams],
    ) -> t.BatchResult:
        """``POST /api/v1/mail/send-batch``: up to 100 emails queued."""
        return self._client.run(calls.send_batch(messages, params, idempotency_key))

    def status(
        self, message_id: str, *, limit: int | None = None, cursor: str | None = None
    ) -> t.StatusResult:
        """``GET /api/v1/mail/status/{message_id}``: the message and its events."""
        return self._client.run(calls.status(message_id, limit, cursor))


class Messages(_Resource):
    def list(
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
        """One page of the account's messages, newest first."""
        filters = dict(locals())
        del filters["self"]
        return self._client.run(calls.list_messages(filters))

    def iterate(self, **filters: Any) -> Iterator[t.MessageSummary]:
        """Every message matching the filters, page after page."""
        cursor = None
        while True:
            page = self.list(**filters, cursor=cursor)
            yield from page.messages
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def cancel(self, message_id: str) -> t.CancelResult:
        return self._client.run(calls.cancel(message_id))

    def resend(self, message_id: str) -> t.ResendResult:
        return self._client.run(calls.resend(message_id))


class Suppressions(_Resource):
    def list(
        self, *, limit: int | None = None, cursor: str | None = None, prefix: str | None = None
    ) -> t.SuppressionPage:
        return self._client.run(calls.list_suppressions(limit, cursor, prefix))

    def iterate(self, *, prefix: str | None = None) -> Iterator[t.SuppressionView]:
        cursor = None
        while True:
            page = self.list(cursor=cursor, prefix=prefix)
            yield from page.suppressions
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def add(self, address: str, *, note: str | None = None) -> t.SuppressionView:
        return self._client.run(calls.add_suppression(address, note))

    def remove(self, address: str) -> t.Removed:
        return self._client.run(calls.remove_suppression(address))


class Webhooks(_Resource):
    def list(self, *, limit: int | None = None, cursor: str | None = None) -> t.WebhookPage:
        return self._client.run(calls.list_webhooks(limit, cursor))

    def create(self, url: str, events: builtins.list[str]) -> t.CreatedWebhook:
        """A new endpoint; its ``secret`` (``whsec_...``) is shown in this result only."""
        return self._client.run(calls.create_webhook(url, events))

    def get(self, endpoint_id: str) -> t.WebhookView:
        return self._client.run(calls.get_webhook(endpoint_id))

    def update(self, endpoint_id: str, **changes: Unpack[WebhookParams]) -> t.WebhookView:
        return self._client.run(calls.update_webhook(endpoint_id, changes))

    def delete(self, endpoint_id: str) -> None:
        self._client.run(calls.delete_webhook(endpoint_id))

    def rotate_secret(
        self, endpoint_id: str, *, overlap_seconds: int | None = None
    ) -> t.CreatedWebhook:
        return self._client.run(calls.rotate_webhook_secret(endpoint_id, overlap_seconds))
