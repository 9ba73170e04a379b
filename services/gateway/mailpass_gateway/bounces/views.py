"""Provider event hooks: where SES (through SNS), SendGrid and Mailgun report bounces and
complaints, and the routes that make those URLs.

``PUT /api/v1/providers/{provider_id}/event-hook`` (``providers`` permission, live keys)
makes the provider's hook with what its notifications are verified with, and answers the
URL's path once; ``GET`` says whether there is one, ``DELETE`` ends it.

``POST /api/v1/provider-events/{token}`` is public: the provider calls it. It answers 404
to a token that names no hook, 413 past ``EVENT_HOOK_MAX_BYTES`` (the declared length is
checked before anything is read), 429 past ``EVENT_HOOK_RATE_PER_SECOND`` for the hook,
401 WEBHOOK_SIGNATURE_INVALID to a notification that does not verify
(:mod:`.verify`), and 200 with how many addresses it suppressed. Suppressing is
idempotent, so a provider's retry of a notification changes nothing.
"""

from __future__ import annotations

import time
from typing import Annotated, Any

import pydantic_core
from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.providers import event_hooks
from mailpass_common.suppressions import service as suppressions
from mailpass_gateway.bodies import after_key, model_schema, openapi_json_body
from mailpass_gateway.bounces import parse, replay
from mailpass_gateway.bounces.verify import (
    SignatureInvalid,
    SnsVerifier,
    verify_mailgun,
    verify_sendgrid,
)
from mailpass_gateway.deps import Db, LiveProvidersKey, Settings
from mailpass_gateway.errors import ApiError
from mailpass_gateway.mail.responses import error_responses
from mailpass_gateway.providers.service import Cipher, owned_provider

router = APIRouter(tags=["bounces"])


class HookCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    public_key: str | None = Field(
        None, max_length=4096, description="SendGrid: the Signed Event Webhook's public key"
    )
    signing_key: str | None = Field(
        None, max_length=512, description="Mailgun: the HTTP webhook signing key"
    )
    topic_arn: str | None = Field(
        None, max_length=512, description="SES: only accept this SNS topic (optional)"
    )


HookBody = Annotated[HookCreate, Depends(after_key(HookCreate))]
_NEEDS = {"sendgrid": "public_key", "mailgun": "signing_key"}


@router.put(
    "/api/v1/providers/{provider_id}/event-hook",
    status_code=201,
    summary="Make the URL where this provider reports bounces and complaints",
    description="The answer's `path` (append it to the gateway's public address) is shown "
    "once; making the hook again replaces it. SES: subscribe the path to the SNS topic of "
    "the configuration set's bounce and complaint notifications (HTTPS). SendGrid: the "
    "Event Webhook's URL with signing on, and its public key here. Mailgun: the webhook URL "
    "of `permanent_fail` and `complained`, and the signing key here.",
    responses=error_responses(
        ErrorCode.VALIDATION_ERROR, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND
    ),
    openapi_extra=openapi_json_body(model_schema(HookCreate)),
)
async def make_hook(
    provider_id: str, key: LiveProvidersKey, body: HookBody, db: Db, cipher: Cipher
) -> JSONResponse:
    provider = await owned_provider(db, key.account_id, provider_id)
    kind = str(provider.get("type"))
    if kind not in event_hooks.HOOK_TYPES:
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            "Invalid request: provider",
            [
                {
                    "field": "provider",
                    "message": f"{kind} providers report no events (SMTP bounces are seen at RCPT)",
                }
            ],
        )
    needed = _NEEDS.get(kind)
    if needed and not getattr(body, needed):
        raise ApiError(
            ErrorCode.VALIDATION_ERROR,
            f"Invalid request: {needed}",
            [{"field": needed, "message": f"required for a {kind} provider"}],
        )
    token = await event_hooks.create_hook(
        db,
        cipher,
        account_id=key.account_id,
        provider_id=provider_id,
        type=kind,
        verification=body.model_dump(exclude_none=True),
    )
    data = {"type": kind, "path": f"/api/v1/provider-events/{token}"}
    return JSONResponse({"success": True, "data": data}, status_code=201)


@router.get(
    "/api/v1/providers/{provider_id}/event-hook",
    summary="Whether this provider has an event hook (never its URL)",
    responses=error_responses(ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND),
)
async def show_hook(provider_id: str, key: LiveProvidersKey, db: Db) -> JSONResponse:
    await owned_provider(db, key.account_id, provider_id)
    found = await event_hooks.hook_of(db, key.account_id, provider_id)
    data = {"exists": found is not None, "type": found.get("type") if found else None}
    return JSONResponse({"success": True, "data": data})


@router.delete(
    "/api/v1/providers/{provider_id}/event-hook",
    status_code=204,
    response_class=Response,
    summary="End this provider's event hook: its URL answers 404 from now on",
    responses=error_responses(ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND),
)
async def end_hook(provider_id: str, key: LiveProvidersKey, db: Db) -> Response:
    await owned_provider(db, key.account_id, provider_id)
    await event_hooks.delete_hook(db, key.account_id, provider_id)
    return Response(status_code=204)


class _Buckets:
    """Token buckets per hook, in process (each gateway replica allows the rate)."""

    def __init__(self) -> None:
        self._state: dict[str, tuple[float, float]] = {}

    def allow(self, hook_id: str, rate: float) -> bool:
        now = time.monotonic()
        tokens, last = self._state.get(hook_id, (rate * 10, now))
        tokens = min(rate * 10, tokens + (now - last) * rate)
        if len(self._state) > 10_000:
            self._state.clear()
        if tokens < 1:
            self._state[hook_id] = (tokens, now)
            return False
        self._state[hook_id] = (tokens - 1, now)
        return True


def _state(request: Request) -> tuple[_Buckets, SnsVerifier]:
    state = request.app.state
    if not hasattr(state, "event_hook_buckets"):
        settings = state.settings
        state.event_hook_buckets = _Buckets()
        state.sns_verifier = SnsVerifier(
            settings.egress_policy(), list(settings.sns_trusted_url_prefixes)
        )
    return state.event_hook_buckets, state.sns_verifier


async def _bounded_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    too_large = ApiError(
        ErrorCode.PAYLOAD_TOO_LARGE,
        f"Notification bodies are limited to {limit} bytes",
        {"max_bytes": limit},
    )
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise too_large
    raw = await request.body()
    if len(raw) > limit:
        raise too_large
    return raw


def _json(raw: bytes) -> Any:
    try:
        return pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError as exc:
        raise ApiError(ErrorCode.VALIDATION_ERROR, f"The body is not JSON: {exc}") from exc


@router.post(
    "/api/v1/provider-events/{token}",
    summary="Where a provider reports bounces and complaints (public: the provider calls it)",
    responses=error_responses(
        ErrorCode.VALIDATION_ERROR,
        ErrorCode.WEBHOOK_SIGNATURE_INVALID,
        ErrorCode.NOT_FOUND,
        ErrorCode.PAYLOAD_TOO_LARGE,
        ErrorCode.RATE_LIMITED,
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "description": "The provider's notification as it sends it: an SNS message "
            "(SES), an array of events (SendGrid), an event with its signature (Mailgun)",
            "content": {
                "application/json": {"schema": {"anyOf": [{"type": "object"}, {"type": "array"}]}}
            },
        }
    },
)
async def provider_events(
    token: Annotated[str, Path(max_length=128)],
    request: Request,
    db: Db,
    settings: Settings,
    cipher: Cipher,
) -> JSONResponse:
    hook = await event_hooks.find_hook(db, cipher, token)
    if hook is None:
        raise ApiError(ErrorCode.NOT_FOUND, "No such event hook")
    buckets, sns = _state(request)
    if not buckets.allow(hook.id, settings.event_hook_rate_per_second):
        raise ApiError(
            ErrorCode.RATE_LIMITED,
            "Too many notifications for this hook; retry in 1 s",
            {"retry_after_seconds": 1},
            headers={"Retry-After": "1"},
        )
    raw = await _bounded_body(request, settings.event_hook_max_bytes)
    try:
        found = await _verified_events(hook, raw, request, sns, db)
    except SignatureInvalid as exc:
        raise ApiError(ErrorCode.WEBHOOK_SIGNATURE_INVALID, str(exc)) from exc
    added = await suppressions.add_many(db, found)
    return JSONResponse({"success": True, "data": {"events": len(found), "suppressed": len(added)}})


async def _verified_events(
    hook: event_hooks.Hook, raw: bytes, request: Request, sns: SnsVerifier, db: Database
) -> list[suppressions.Suppression]:
    keys = hook.verification
    if hook.type == "sendgrid":
        verify_sendgrid(
            str(keys.get("public_key", "")),
            request.headers.get("x-twilio-email-event-webhook-signature", ""),
            request.headers.get("x-twilio-email-event-webhook-timestamp", ""),
            raw,
        )
        return parse.sendgrid(hook.account_id, _json(raw))
    body = _json(raw)
    if not isinstance(body, dict):
        raise ApiError(ErrorCode.VALIDATION_ERROR, "The body must be a JSON object")
    if hook.type == "mailgun":
        signature = body.get("signature")
        signature = signature if isinstance(signature, dict) else {}
        verify_mailgun(str(keys.get("signing_key", "")), signature)
        await replay.take_token(db, hook.id, str(signature.get("token", "")))
        return parse.mailgun(hook.account_id, body)
    await sns.verify(body)
    topic = keys.get("topic_arn")
    if topic and body.get("TopicArn") != topic:
        raise SignatureInvalid("the notification comes from another SNS topic")
    if body.get("Type") == "SubscriptionConfirmation":
        await sns.confirm_subscription(body)
        return []
    if body.get("Type") != "Notification":
        return []
    return parse.ses(hook.account_id, str(body.get("Message", "")))
