from __future__ import annotations

from mailpass_common.settings import CommonSettings


class SenderSettings(CommonSettings):
    # Jobs in flight per sender process (RabbitMQ prefetch): deliveries run concurrently.
    sender_prefetch: int = 32
    # A claimed message whose sender has not recorded an outcome after this long is
    # considered abandoned (its sender died) and may be claimed again.
    sender_lease_seconds: float = 120.0
    sender_health_host: str = "0.0.0.0"
    sender_health_port: int = 9101
    # Connections kept open per SMTP provider, which is also its concurrency cap.
    smtp_max_connections: int = 8
    smtp_timeout_seconds: float = 30.0
    # Where test API keys (mp_test_) and the sandbox provider deliver: a capture server.
    sandbox_smtp_host: str = "127.0.0.1"
    sandbox_smtp_port: int = 1025
