"""The OpenAPI document's conventions: meaningful ``operationId``s, and the headers every
answer carries documented on every operation (with the 415 and 429 answers they imply).

``operationId``: the table below for the operations whose handler name says too little
(``send`` is ``sendMail``), else the handler's name in camelCase. SDK generators name
their methods after these, so they are part of the contract: a test pins them.
"""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute

from mailpass_common.platform.errors import ErrorCode, error_example
from mailpass_gateway.rate_limit import RateLimitPolicy

OPERATION_IDS = {
    "send": "sendMail",
    "send_batch": "sendBatch",
    "status": "getMessageStatus",
    "resend_message": "resendMessage",
    "cancel_message": "cancelMessage",
    "set_default": "setDefaultProvider",
    "test_provider": "testProvider",
    "make_hook": "putProviderEventHook",
    "show_hook": "getProviderEventHook",
    "end_hook": "deleteProviderEventHook",
    "provider_events": "receiveProviderEvents",
    "rotate_secret": "rotateWebhookSecret",
    "list_attempts": "listWebhookAttempts",
    "replay_attempt": "replayWebhookAttempt",
}


def operation_id(route: APIRoute) -> str:
    if route.name in OPERATION_IDS:
        return OPERATION_IDS[route.name]
    first, *rest = route.name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def _header(description: str, example: str, schema_type: str = "string") -> dict[str, Any]:
    return {"description": description, "schema": {"type": schema_type}, "example": example}


def headers(policy: RateLimitPolicy) -> dict[str, dict[str, Any]]:
    return {
        "X-Request-Id": _header(
            "The request's id: the caller's X-Request-Id when usable (1-128 of A-Z a-z 0-9 "
            "._:@/+=-), else a new one; every log line of the request carries it",
            "req_5f0c6a1e9d2b4c7f8a3e6b1d0c9f2a4e",
        ),
        "RateLimit-Policy": _header(
            f"The per-key request quota (draft-ietf-httpapi-ratelimit-headers): q requests "
            f"per w seconds ({policy.limit} per {policy.window_seconds} s here; "
            "API_RATE_LIMIT, API_RATE_LIMIT_WINDOW_SECONDS)",
            policy.header(),
        ),
        "RateLimit": _header(
            "What is left of the key's quota: r requests, for the next t seconds",
            f'"key";r={max(0, policy.limit - 1)};t={policy.window_seconds}',
        ),
        "Retry-After": _header("Seconds to wait before trying again", "30", "integer"),
        "WWW-Authenticate": _header(
            "The scheme wanted (RFC 6750), and why a key given was refused",
            'Bearer realm="mailpass", error="invalid_token"',
        ),
        "Idempotent-Replayed": _header(
            "true: this is the stored answer of an earlier request with the same "
            "Idempotency-Key; nothing was sent again",
            "true",
        ),
    }


def _error(code: ErrorCode) -> dict[str, Any]:
    return {
        "description": code.value,
        "content": {
            "application/json": {
                "schema": {"$ref": "#/components/schemas/ErrorResponse"},
                "examples": {code.value: {"summary": code.value, "value": error_example(code)}},
            }
        },
    }


def _add_error(responses: dict[str, Any], code: ErrorCode, status: str) -> None:
    if status not in responses:
        responses[status] = _error(code)
        return
    content = responses[status].setdefault("content", {}).setdefault("application/json", {})
    examples = content.setdefault("examples", {})
    if code.value not in examples:
        examples[code.value] = {"summary": code.value, "value": error_example(code)}
        responses[status]["description"] += f" or {code.value}"


def document_conventions(spec: dict[str, Any], policy: RateLimitPolicy) -> None:
    """Every API operation's answers name the headers they carry; operations that read a
    key say it may be rate limited (429), those that take a body that it must be JSON."""
    spec.setdefault("components", {})["headers"] = headers(policy)

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/headers/{name}"}

    for path, operations in spec.get("paths", {}).items():
        if not path.startswith("/api/"):
            continue
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            keyed = bool(operation.get("security"))
            if keyed and policy.enabled:
                _add_error(responses, ErrorCode.RATE_LIMITED, "429")
            body = operation.get("requestBody", {}).get("content", {})
            if "application/json" in body and not path.startswith("/api/v1/provider-events/"):
                _add_error(responses, ErrorCode.UNSUPPORTED_MEDIA_TYPE, "415")
            replayable = operation.get("operationId") in ("sendMail", "sendBatch")
            for status, response in responses.items():
                named = response.setdefault("headers", {})
                named["X-Request-Id"] = ref("X-Request-Id")
                if policy.enabled:
                    named["RateLimit-Policy"] = ref("RateLimit-Policy")
                    if keyed and status != "401":
                        named["RateLimit"] = ref("RateLimit")
                if status in ("429", "503"):
                    named["Retry-After"] = ref("Retry-After")
                if status == "401" and keyed:
                    named["WWW-Authenticate"] = ref("WWW-Authenticate")
                if replayable and status in ("200", "202", "500"):
                    named["Idempotent-Replayed"] = ref("Idempotent-Replayed")
