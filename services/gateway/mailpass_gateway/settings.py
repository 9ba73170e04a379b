from __future__ import annotations

from mailpass_common.settings import CommonSettings


class GatewaySettings(CommonSettings):
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    # How long POST /mail/send waits for the delivery result before answering 202 queued.
    send_timeout_seconds: float = 30.0
