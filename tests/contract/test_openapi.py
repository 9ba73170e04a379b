"""/openapi.json and /docs describe every Mail Send API endpoint with the spec's examples."""

from __future__ import annotations

import httpx

from mailpass_gateway.mail import examples


async def test_openapi_describes_every_endpoint_with_examples(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    paths = spec["paths"]
    send = paths["/api/v1/mail/send"]["post"]
    batch = paths["/api/v1/mail/send-batch"]["post"]
    status = paths["/api/v1/mail/status/{message_id}"]["get"]

    def request_examples(operation: dict[str, object]) -> list[object]:
        content = operation["requestBody"]["content"]["application/json"]  # type: ignore[index]
        return [e["value"] for e in content["examples"].values()]

    assert examples.SEND_REQUEST in request_examples(send)
    assert examples.SEND_REQUEST_CURL in request_examples(send)
    assert examples.BATCH_REQUEST in request_examples(batch)
    assert examples.BATCH_REQUEST_CURL in request_examples(batch)
    schemas = spec["components"]["schemas"]
    assert schemas["SendResponse"]["examples"] == [examples.SEND_RESPONSE]
    assert schemas["BatchResponse"]["examples"] == [examples.BATCH_RESPONSE]
    assert schemas["StatusResponse"]["examples"] == [examples.STATUS_RESPONSE]

    def error_codes(operation: dict[str, object]) -> dict[str, set[str]]:
        found = {}
        for status_code, response in operation["responses"].items():  # type: ignore[attr-defined]
            named = response.get("content", {}).get("application/json", {}).get("examples", {})
            if named:
                found[status_code] = set(named)
        return found

    assert error_codes(send) == {
        "400": {"VALIDATION_ERROR", "ATTACHMENT_REFUSED"},
        "401": {"UNAUTHORIZED"},
        "403": {"FORBIDDEN"},
        "409": {"IDEMPOTENCY_CONFLICT"},
        "413": {"PAYLOAD_TOO_LARGE", "MESSAGE_TOO_LARGE"},
        "415": {"UNSUPPORTED_MEDIA_TYPE"},
        "422": {"NO_SMTP_PROVIDER", "RECIPIENT_SUPPRESSED", "DOMAIN_NOT_VERIFIED"},
        "429": {"SEND_LIMIT_EXCEEDED", "RATE_LIMITED"},
        "500": {"SEND_FAILED"},
    }
    assert "202" in send["responses"]
    assert error_codes(status)["404"] == {"NOT_FOUND"}
    # A batch is never refused for the provider's limits (it queues), only for the key's rate.
    assert error_codes(batch)["429"] == {"RATE_LIMITED"}
    assert any(p["name"] == "Idempotency-Key" for p in send["parameters"])
    assert "HTTPBearer" in spec["components"]["securitySchemes"]
    assert "UTC" in status["description"]

    docs = await api.get("/docs")
    assert docs.status_code == 200 and "swagger-ui" in docs.text
