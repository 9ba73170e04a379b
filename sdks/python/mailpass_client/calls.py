"""Each API operation once: the HTTP call it makes and how its answer is read.

The sync (:mod:`.client`) and async (:mod:`.async_client`) resources run these.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Literal, Required, TypedDict, TypeVar
from urllib.parse import quote

from mailpass_client import types as t
from mailpass_client._http import Call, new_idempotency_key

T = TypeVar("T")


# No ``from __future__ import annotations`` here: TypedDict reads ``Required`` at run time.
class SendParams(TypedDict, total=False):
    """The body of ``POST /api/v1/mail/send`` (and of each message of a batch)."""

    to: Required[str]
    subject: Required[str]
    html: str
    text: str
    from_email: str
    from_name: str
    reply_to: str
    cc: list[str]
    bcc: list[str]
    tags: list[str]
    metadata: dict[str, Any]
    track_opens: bool
    track_clicks: bool
    attachments: list[dict[str, Any]]
    unsubscribe: bool
    scheduled_at: str


class TemplatedSendParams(TypedDict, total=False):
    """``POST /api/v1/mail/send`` from a stored template: its subject and bodies rendered
    with ``variables``."""

    to: Required[str]
    template_id: Required[str]
    variables: dict[str, Any]
    from_email: str
    from_name: str
    reply_to: str
    cc: list[str]
    bcc: list[str]
    tags: list[str]
    metadata: dict[str, Any]
    track_opens: bool
    track_clicks: bool
    attachments: list[dict[str, Any]]
    unsubscribe: bool
    scheduled_at: str


class BatchParams(TypedDict, total=False):
    """The body of ``POST /api/v1/mail/send-batch`` besides ``messages``."""

    from_email: str
    from_name: str
    template_id: str


class WebhookParams(TypedDict, total=False):
    """The body of ``PATCH /api/v1/webhooks/{id}``: only what is given changes."""

    url: str
    events: list[str]
    enabled: bool


MessageStatus = Literal["scheduled", "queued", "sending", "deferred", "sent", "failed", "cancelled"]


@dataclass(frozen=True)
class Op(Generic[T]):
    call: Call
    read: Callable[[dict[str, Any]], T]


def _data(cls: type[T]) -> Callable[[dict[str, Any]], T]:
    return lambda body: t.build(cls, body["data"])


def _id(value: str) -> str:
    return quote(value, safe="")


def send(params: SendParams | TemplatedSendParams, idempotency_key: str | None) -> Op[t.SendResult]:
    key = idempotency_key or new_idempotency_key()
    call = Call("POST", "/api/v1/mail/send", body=dict(params), idempotency_key=key)
    return Op(call, _data(t.SendResult))


def send_batch(
    messages: list[SendParams] | list[TemplatedSendParams] | list[dict[str, Any]],
    params: BatchParams,
    idempotency_key: str | None,
) -> Op[t.BatchResult]:
    key = idempotency_key or new_idempotency_key()
    body = {"messages": [dict(m) for m in messages], **params}
    return Op(
        Call("POST", "/api/v1/mail/send-batch", body=body, idempotency_key=key),
        _data(t.BatchResult),
    )


def status(message_id: str, limit: int | None, cursor: str | None) -> Op[t.StatusResult]:
    params = {"limit": limit, "cursor": cursor}
    call = Call("GET", f"/api/v1/mail/status/{_id(message_id)}", params=params)
    return Op(call, _data(t.StatusResult))


def list_messages(filters: dict[str, Any]) -> Op[t.MessagePage]:
    return Op(Call("GET", "/api/v1/mail/messages", params=filters), _data(t.MessagePage))


def cancel(message_id: str) -> Op[t.CancelResult]:
    call = Call("POST", f"/api/v1/mail/messages/{_id(message_id)}/cancel")
    return Op(call, _data(t.CancelResult))


def resend(message_id: str) -> Op[t.ResendResult]:
    call = Call("POST", f"/api/v1/mail/messages/{_id(message_id)}/resend")
    return Op(call, _data(t.ResendResult))


def list_suppressions(
    limit: int | None, cursor: str | None, prefix: str | None
) -> Op[t.SuppressionPage]:
    params = {"limit": limit, "cursor": cursor, "prefix": prefix}
    return Op(Call("GET", "/api/v1/suppressions", params=params), _data(t.SuppressionPage))


def add_suppression(address: str, note: str | None) -> Op[t.SuppressionView]:
    body = {"address": address, **({"note": note} if note is not None else {})}
    return Op(Call("POST", "/api/v1/suppressions", body=body), _data(t.SuppressionView))


def remove_suppression(address: str) -> Op[t.Removed]:
    return Op(Call("DELETE", f"/api/v1/suppressions/{_id(address)}"), _data(t.Removed))


def list_webhooks(limit: int | None, cursor: str | None) -> Op[t.WebhookPage]:
    params = {"limit": limit, "cursor": cursor}
    return Op(Call("GET", "/api/v1/webhooks", params=params), _data(t.WebhookPage))


def create_webhook(url: str, events: list[str]) -> Op[t.CreatedWebhook]:
    body = {"url": url, "events": events}
    return Op(Call("POST", "/api/v1/webhooks", body=body), _data(t.CreatedWebhook))


def get_webhook(endpoint_id: str) -> Op[t.WebhookView]:
    return Op(Call("GET", f"/api/v1/webhooks/{_id(endpoint_id)}"), _data(t.WebhookView))


def update_webhook(endpoint_id: str, changes: WebhookParams) -> Op[t.WebhookView]:
    call = Call("PATCH", f"/api/v1/webhooks/{_id(endpoint_id)}", body=dict(changes))
    return Op(call, _data(t.WebhookView))


def delete_webhook(endpoint_id: str) -> Op[None]:
    return Op(Call("DELETE", f"/api/v1/webhooks/{_id(endpoint_id)}"), lambda body: None)


def rotate_webhook_secret(endpoint_id: str, overlap_seconds: int | None) -> Op[t.CreatedWebhook]:
    call = Call(
        "POST",
        f"/api/v1/webhooks/{_id(endpoint_id)}/rotate-secret",
        params={"overlap_seconds": overlap_seconds},
    )
    return Op(call, _data(t.CreatedWebhook))
