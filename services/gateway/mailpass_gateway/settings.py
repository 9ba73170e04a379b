from __future__ import annotations

from pydantic import Field

from mailpass_common.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    management_port: int = 9100
    # Worker processes (one core each) sharing the ports; in a cluster, prefer replicas.
    gateway_workers: int = Field(default=1, ge=1, le=64)
    # How long POST /mail/send waits for the delivery result before answering 202 queued.
    send_timeout_seconds: float = 30.0
    # Request bodies larger than this are refused with 413 before they are parsed. 10 MiB
    # holds a full batch of 100 typical messages; one message's html and text are capped
    # at 512 KiB each by validation.
    max_request_bytes: int = 10 * 1024 * 1024
    # An Idempotency-Key still "running" this long after its request began belongs to a
    # gateway that died mid-request; a retry may take it over. Must exceed the send timeout.
    idempotency_stale_seconds: float = 300.0
