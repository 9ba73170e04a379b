"""Request and response bodies of the webhooks API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from mailpass_common.webhooks.endpoints import WebhookEventType
from mailpass_gateway.dates import ApiDateTime

CREATE_EXAMPLE: dict[str, JsonValue] = {
    "url": "https://example.com/hooks/mailpass",
    "events": ["sent", "failed"],
}
EventList = Annotated[list[WebhookEventType], Field(min_length=1, max_length=len(WebhookEventType))]


class WebhookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CREATE_EXAMPLE]})

    url: str = Field(
        max_length=2048, description="https:// URL receiving a POST per event (public hosts)"
    )
    events: EventList = Field(
        description="Event types to receive: sent, deferred, failed, bounced, complained, "
        "unsubscribed, open, click, endpoint.disabled, audit.event"
    )


class WebhookUpdate(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"events": ["sent"], "enabled": True}]}
    )

    url: str | None = Field(None, max_length=2048)
    events: EventList | None = None
    enabled: bool | None = Field(
        None, description="true enables a disabled endpoint again (its failures forgotten)"
    )


class WebhookView(BaseModel):
    id: str
    url: str
    events: list[str]
    enabled: bool
    sandbox: bool = Field(description="Made with a test key: receives test messages' events")
    disabled_reason: str | None
    failing_since: ApiDateTime | None = Field(
        description="First failed attempt since the last success (UTC); null when healthy"
    )
    previous_secret_valid_until: ApiDateTime | None = Field(
        description="After a rotation, until when the old secret still signs (UTC)"
    )
    created_at: ApiDateTime


class CreatedWebhook(WebhookView):
    secret: str = Field(description="whsec_… signing secret, shown this once")


class WebhookResponse(BaseModel):
    success: bool = True
    data: WebhookView


class CreatedWebhookResponse(BaseModel):
    success: bool = True
    data: CreatedWebhook


class WebhookPage(BaseModel):
    webhooks: list[WebhookView] = Field(description="Endpoints in the order they were created")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end"
    )


class WebhookListResponse(BaseModel):
    success: bool = True
    data: WebhookPage


class AttemptView(BaseModel):
    id: str
    event_id: str
    webhook_id: str = Field(description="The webhook-id header: the same on every retry")
    event_type: str
    attempt: int = Field(description="1 for the first try of a delivery, counting retries")
    outcome: Literal["succeeded", "failed"]
    status_code: int | None = Field(description="The endpoint's HTTP status; null: none")
    response: str | None = Field(description="The start of the response body, one line")
    error: str | None
    duration_ms: int | None
    next_attempt_in_seconds: float | None = Field(
        description="When the next retry follows (failed attempts with retries left)"
    )
    created_at: ApiDateTime


class AttemptPage(BaseModel):
    attempts: list[AttemptView] = Field(description="Newest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for older attempts")


class AttemptListResponse(BaseModel):
    success: bool = True
    data: AttemptPage


class Replayed(BaseModel):
    event_id: str = Field(description="The new delivery's event id")
    webhook_id: str = Field(description="The original webhook-id, kept for receivers")
    endpoint_id: str


class ReplayResponse(BaseModel):
    success: bool = True
    data: Replayed
