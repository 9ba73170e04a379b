"""``mailpass-gateway``: the API on GATEWAY_PORT, probes and metrics on MANAGEMENT_PORT,
in GATEWAY_WORKERS processes (see mailpass_common.platform.workers)."""

from __future__ import annotations

import uvicorn

from mailpass_common.platform import telemetry
from mailpass_common.platform.http_listener import listener_config
from mailpass_common.platform.lifecycle import settle_heap
from mailpass_common.platform.settings import load_settings
from mailpass_common.platform.workers import listening_socket, run_workers
from mailpass_gateway.app import create_app
from mailpass_gateway.settings import GatewaySettings


def serve() -> None:
    """One worker: the app on the public port (shared with the other workers, if any)."""
    settings = load_settings(GatewaySettings, "mailpass-gateway")
    telemetry.setup("mailpass-gateway", settings.log_level)
    # No access log: the request metrics count every request by route and status, and a
    # line per request costs more than the request's own work at hundreds per second.
    app = create_app(settings)
    settle_heap()  # the app is built: the collector leaves it alone from now on
    config = listener_config(app, settings, log_config=None, proxy_headers=True, access_log=False)
    sock = listening_socket(
        settings.gateway_host, settings.gateway_port, reuse_port=settings.gateway_workers > 1
    )
    uvicorn.Server(config).run(sockets=[sock])


def main() -> None:
    run_workers(load_settings(GatewaySettings, "mailpass-gateway").gateway_workers, serve)
