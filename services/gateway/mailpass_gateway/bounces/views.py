"""Provider event hooks: where providers report bounces and complaints (each type with an
``event_hook`` in its plugin, ``mailpass_common.providers.types``), and the routes that
make those URLs.

``PUT /api/v1/providers/{provider_id}/event-hook`` (``providers`` permission, live keys)
makes the provider's hook with what its notifications are verified with, and answers the
URL's path once; ``GET`` says whether there is one, ``DELETE`` ends it.

``POST /api/v1/provider-events/{token}`` is public: the provider calls it. It answers 404
to a token that names no hook, 413 past ``EVENT_HOOK_MAX_BYTES`` (the declared length is
checked before anything is read), 429 past ``EVENT_HOOK_RATE_PER_SECOND`` for the hook,
401 WEBHOOK_SIGNATURE_INVALID to a notification that does not verify (the type's
``EventHook.read``), and 200 with how many addresses it suppressed. A notification that
names our Message-ID (SES, SendGrid, Mailgun) of a message of the hook's account also
records a ``bounce`` or ``complaint`` event on it and moves a ``sent`` message to
``bounced`` (:mod:`mailpass_common.messages.bounces`, as the inbound DSN path does).
Postmark and Resend name only their own ids, which are not looked up: suppression only.
All of it is idempotent, so a provider's retry of a notification changes nothing.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, create_model

from mailpass_common.messages import bounces
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.providers import event_hooks
from mailpass_common.providers.plugin import (
    HookCall,
    HookContext,
    NotificationInvalid,
    SignatureInvalid,
)
from mailpass_common.providers.registry import PLUGINS
from mailpass_common.suppressions import service as suppressions
from mailpass_gateway.bodies import after_key, model_schema, openapi_json_body
from mailpass_gateway.bounces import service
from mailpass_gateway.deps import Db, LiveProvidersKey, Settings
from mailpass_gateway.errors import ApiError
from mailpass_gateway.mail.responses import error_responses
from mailpass_gateway.providers.service import Cipher, owned_provider

router = APIRouter(tags=["bounces"])


class _HookInput(BaseModel):
    model_config = ConfigDict(extra="forbid")


# What any type's hook is made with (each type documents and requires its own fields).
HOOK_FIELDS: dict[str, str] = {
    name: description
    for plugin in PLUGINS.values()
    if plugin.event_hook is not None
    for name, description in plugin.event_hook.fields.items()
}
HookCreate = create_model(  # type: ignore[call-overload]
    "HookCreate",
    __base__=_HookInput,
    **{
        name: (str | None, Field(None, max_length=4096, description=description))
        for name, description in HOOK_FIELDS.items()
    },
)
HookBody = Annotated[HookCreate, Depends(after_key(HookCreate))]


@router.put(
    "/api/v1/providers/{provider_id}/event-hook",
    status_code=201,
    summary="Make the URL where this provider reports bounces and complaints",
    description="The answer's `path` (append it to the gateway's public address) is shown "
    "once; making the hook again replaces it. "
    + " ".join(p.event_hook.setup for p in PLUGINS.values() if p.event_hook is not None),
    responses=error_responses(
        ErrorCode.VALIDATION_ERROR, ErrorCode.UNAUTHORIZED, ErrorCode.FORBIDDEN, ErrorCode.NOT_FOUND
    ),
    openapi_extra=openapi_json_body(model_schema(HookCreate)),
)
async def make_hook(
    provider_id: str, key: LiveProvidersKey, body: HookBody, db: Db, cipher: Cipher
) -> JSONResponse:
    kind, token = await service.make_hook(
        db, cipher, key.account_id, provider_id, body.model_dump(exclude_none=True)
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
    await service.end_hook(db, key.account_id, provider_id)
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


def _state(request: Request) -> tuple[_Buckets, HookContext]:
    state = request.app.state
    if not hasattr(state, "event_hook_buckets"):
        settings = state.settings
        state.event_hook_buckets = _Buckets()
        state.event_hook_context = HookContext(
            settings.egress_policy(), tuple(settings.sns_trusted_url_prefixes)
        )
    return state.event_hook_buckets, state.event_hook_context


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
            "(SES), an array of events (SendGrid), an event with its signature (Mailgun), "
            "a bounce or spam complaint record (Postmark), an event (Resend)",
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
    buckets, context = _state(request)
    if not buckets.allow(hook.id, settings.event_hook_rate_per_second):
        raise ApiError(
            ErrorCode.RATE_LIMITED,
            "Too many notifications for this hook; retry in 1 s",
            {"retry_after_seconds": 1},
            headers={"Retry-After": "1"},
        )
    raw = await _bounded_body(request, settings.event_hook_max_bytes)
    plugin = PLUGINS.get(hook.type)
    if plugin is None or plugin.event_hook is None:  # a type no longer reporting events
        raise ApiError(ErrorCode.NOT_FOUND, "No such event hook")
    headers = {name.lower(): value for name, value in request.headers.items()}
    call = HookCall(db, hook.id, hook.account_id, hook.verification, raw, headers, context)
    try:
        found = await plugin.event_hook.read(call)
    except SignatureInvalid as exc:
        raise ApiError(ErrorCode.WEBHOOK_SIGNATURE_INVALID, str(exc)) from exc
    except NotificationInvalid as exc:
        raise ApiError(ErrorCode.VALIDATION_ERROR, str(exc)) from exc
    added = await suppressions.add_many(db, found)
    # The messages' history too, as for a DSN (notifications naming our Message-ID).
    await bounces.record_hook_reports(db, hook.account_id, found, hook.type)
    return JSONResponse({"success": True, "data": {"events": len(found), "suppressed": len(added)}})
