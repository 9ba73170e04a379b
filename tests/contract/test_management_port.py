"""The gateway's probes and metrics are on its management port, never on the public one
(the ingress routes the public port only)."""

from __future__ import annotations

from typing import Any

import httpx

from mailpass_gateway.app import create_app
from mailpass_gateway.settings import GatewaySettings
from tests.support.stack import serve_app


async def test_probes_and_metrics_answer_on_the_management_port_only(
    service_env: dict[str, Any],
) -> None:
    app = create_app(GatewaySettings(**service_env))
    async with serve_app(app) as public, httpx.AsyncClient(timeout=10) as client:
        management = f"http://127.0.0.1:{app.state.management_port}"
        for path in ("/metrics", "/healthz", "/readyz"):
            hidden = await client.get(f"{public}{path}")
            assert hidden.status_code == 404, path
            assert hidden.json()["error"]["code"] == "NOT_FOUND"
        assert (await client.get(f"{management}/healthz")).status_code == 200
        ready = await client.get(f"{management}/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"mongodb": "ok", "rabbitmq": "ok"}
        metrics = await client.get(f"{management}/metrics")
        assert metrics.status_code == 200
        assert "mailpass_gateway_requests_total" in metrics.text
        # The public API itself is where it always was.
        assert (await client.get(f"{public}/openapi.json")).status_code == 200
        assert (await client.get(f"{management}/api/v1/mail/status/x")).status_code == 404
