"""``postmark``: Postmark's Email API (``POST /email``), with a server token.

Sending: the message as Postmark's JSON (``From``, ``To``, ``Cc``, ``Bcc``, ``HtmlBody``,
``TextBody``, ``Attachments``...); our Message-ID rides in ``Headers`` so replies thread
on it. Postmark takes one ``Tag``: the first of the message's tags. A ``MessageStream``
may name a stream other than the default ``outbound``. The provider test reads
``GET /server``, which proves the token without sending.

Event hook: Postmark's webhooks authenticate with HTTP basic auth, the credentials written
into the webhook's URL (``https://user:password@host/path``). The hook keeps them and
compares both in constant time. ``Bounce`` records of type ``HardBounce`` or
``BadEmailAddress`` and ``SpamComplaint`` records suppress.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Annotated, Any

import httpx
from pydantic import Field

from mailpass_common.platform.egress import EgressPolicy
from mailpass_common.providers import notifications
from mailpass_common.providers.delivery.base import (
    DeliveryResult,
    OutgoingEmail,
    TemporaryDeliveryError,
    reply_text,
)
from mailpass_common.providers.delivery.http import HttpApiProvider, json_mailbox
from mailpass_common.providers.delivery.options import DeliveryOptions
from mailpass_common.providers.plugin import (
    ConsoleForm,
    EventHook,
    HookCall,
    ProviderPlugin,
    SignatureInvalid,
)
from mailpass_common.providers.type_config import HttpUrl, Secret, Timeout, TypeConfig
from mailpass_common.suppressions.service import Suppression, SuppressionReason
from mailpass_common.unsubscribe.links import ONE_CLICK

API_HOSTS = ("api.postmarkapp.com",)
DEFAULT_BASE_URL = "https://api.postmarkapp.com"
# Bounce types that are about the address itself (Postmark deactivates it for them too).
PERMANENT_BOUNCES = frozenset({"HardBounce", "BadEmailAddress"})


class PostmarkConfig(TypeConfig):
    SECRETS = ("server_token",)
    server_token: Secret = Field(description="the server's API token (X-Postmark-Server-Token)")
    message_stream: Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[\w-]+$")] | (
        None
    ) = Field(None, description="transactional message stream (default: outbound)")
    base_url: HttpUrl | None = Field(None, description="https://api.postmarkapp.com (default)")
    timeout: Timeout | None = Field(None, description="request timeout in seconds")


def build_payload(email: OutgoingEmail, stream: str | None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "From": json_mailbox(email.from_email, email.from_name),
        "To": email.to,
        "Subject": email.subject,
        "Headers": [{"Name": "Message-ID", "Value": email.message_id}],
    }
    if email.list_unsubscribe:
        payload["Headers"] += [
            {"Name": "List-Unsubscribe", "Value": email.list_unsubscribe},
            {"Name": "List-Unsubscribe-Post", "Value": ONE_CLICK},
        ]
    if email.cc:
        payload["Cc"] = ", ".join(email.cc)
    if email.bcc:
        payload["Bcc"] = ", ".join(email.bcc)
    if email.reply_to:
        payload["ReplyTo"] = email.reply_to
    if email.html:
        payload["HtmlBody"] = email.html
    if email.text or not email.html:
        payload["TextBody"] = email.text or " "  # Postmark needs one of the two bodies
    if email.tags:
        payload["Tag"] = email.tags[0]
    if email.metadata:
        payload["Metadata"] = {str(k): str(v) for k, v in email.metadata.items()}
    if stream:
        payload["MessageStream"] = stream
    if email.attachments:
        payload["Attachments"] = [
            {
                "Name": a.filename,
                "Content": base64.b64encode(a.data).decode("ascii"),
                "ContentType": a.content_type,
                **({"ContentID": f"cid:{a.content_id}"} if a.content_id else {}),
            }
            for a in email.attachments
        ]
    return payload


class PostmarkProvider(HttpApiProvider):
    type = "postmark"
    api_name = "Postmark"

    def __init__(self, config: PostmarkConfig, *, egress: EgressPolicy) -> None:
        self._stream = config.message_stream
        super().__init__(
            base_url=config.base_url,
            timeout=config.timeout,
            default_base_url=DEFAULT_BASE_URL,
            api_hosts=API_HOSTS,
            egress=egress,
            headers={"X-Postmark-Server-Token": config.server_token},
        )

    def error_detail(self, response: httpx.Response) -> str:
        """Postmark's error body: ``{"ErrorCode": 300, "Message": "..."}``."""
        body = self.json_object(response)
        if body.get("Message"):
            return f"{body['Message']} (ErrorCode {body.get('ErrorCode')})"
        return super().error_detail(response)

    async def send(self, email: OutgoingEmail, mime: bytes) -> DeliveryResult:
        response = await self._request("POST", "/email", json=build_payload(email, self._stream))
        if response.status_code != 200:
            raise self.failure(response)
        body = self.json_object(response)
        message_id, reply = body.get("MessageID"), body.get("Message")
        return DeliveryResult(
            provider_message_id=str(message_id) if message_id else None,
            reply=f"Postmark: {reply_text(str(reply or 'OK'))}",
        )

    async def check(self) -> None:
        """``GET /server``: the token's server, readable with the token alone."""
        response = await self._request("GET", "/server")
        if response.status_code != 200:
            raise self.failure(response)
        try:
            response.json()["Name"]
        except (ValueError, KeyError, TypeError) as exc:
            raise TemporaryDeliveryError("Postmark returned an unreadable server") from exc


def build(config: PostmarkConfig, options: DeliveryOptions) -> PostmarkProvider:
    return PostmarkProvider(config, egress=options.egress)


def verify(username: str, password: str, authorization: str) -> None:
    scheme, _, encoded = authorization.partition(" ")
    try:
        given = base64.b64decode(encoded, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        given = ""
    user, _, secret = given.partition(":")
    expected_user, expected_secret = username.encode(), password.encode()
    user_ok = hmac.compare_digest(user.encode(), expected_user)
    secret_ok = hmac.compare_digest(secret.encode(), expected_secret)
    if scheme.lower() != "basic" or not (user_ok and secret_ok) or not password:
        raise SignatureInvalid("the basic auth credentials do not match the hook's")


def parse(account_id: str, record: dict[str, Any]) -> list[Suppression]:
    kind, address = record.get("RecordType"), record.get("Email")
    found: Suppression | None = None
    if kind == "Bounce" and record.get("Type") in PERMANENT_BOUNCES:
        detail = record.get("Details") or record.get("Description") or record.get("Type")
        found = notifications.entry(
            account_id, "postmark", address, SuppressionReason.BOUNCE, detail, None
        )
    elif kind == "SpamComplaint":
        found = notifications.entry(
            account_id, "postmark", address, SuppressionReason.COMPLAINT, "SpamComplaint", None
        )
    return [] if found is None else [found]


async def read(call: HookCall) -> list[Suppression]:
    verify(
        str(call.verification.get("username", "")),
        str(call.verification.get("password", "")),
        call.headers.get("authorization", ""),
    )
    return parse(call.account_id, notifications.json_object(call.body))


def summary(config: Mapping[str, Any]) -> str:
    return f"stream {config.get('message_stream') or 'outbound'}"


PLUGIN = ProviderPlugin(
    type="postmark",
    config_model=PostmarkConfig,
    build=build,
    api_hosts=API_HOSTS,
    example={"server_token": "xxxx-xxxx"},
    event_hook=EventHook(
        fields={
            "username": "Postmark: the webhook URL's basic auth user name",
            "password": "Postmark: the webhook URL's basic auth password (16 characters or more)",
        },
        required=("username", "password"),
        setup="Postmark: a webhook of the message stream with Bounce and Spam Complaint on, "
        "its URL with the basic auth credentials given here (https://user:password@host/path).",
        read=read,
    ),
    form=ConsoleForm(
        name="Postmark",
        blurb="Postmark's Email API, with a server token.",
        labels={"server_token": "Server API token", "message_stream": "Message stream"},
        advanced=frozenset({"message_stream", "base_url", "timeout"}),
        summary=summary,
    ),
)
