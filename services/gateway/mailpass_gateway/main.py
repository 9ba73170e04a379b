from __future__ import annotations

import uvicorn

from mailpass_common import telemetry
from mailpass_common.settings import load_settings
from mailpass_gateway.app import create_app
from mailpass_gateway.settings import GatewaySettings


def main() -> None:
    settings = load_settings(GatewaySettings, "mailpass-gateway")
    telemetry.setup("mailpass-gateway", settings.log_level)
    uvicorn.run(
        create_app(settings),
        host=settings.gateway_host,
        port=settings.gateway_port,
        log_config=None,
        proxy_headers=True,
    )
