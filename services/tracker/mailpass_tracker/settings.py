from __future__ import annotations

import ipaddress
from typing import Annotated, Any

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from mailpass_common.platform.settings import ServiceSettings


class TrackerSettings(ServiceSettings):
    tracker_host: str = "127.0.0.1"
    tracker_port: int = 8001
    management_port: int = 9102
    # Peers whose X-Forwarded-For is believed: the ingress controller's addresses or its
    # pod CIDR, as IPs or CIDRs, comma-separated in the environment
    # (TRACKER_TRUSTED_PROXIES=10.0.0.0/8,fd00::/8). Empty: the header is never believed,
    # since anyone can send it.
    tracker_trusted_proxies: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Events waiting for the writer. Past this, the oldest are dropped (see ingest): a
    # pixel never waits for the database. 10,000 events are a few MB of memory.
    tracker_buffer_size: int = Field(default=10_000, ge=1)
    # Events per insert_many, and how often a partial batch is written anyway.
    tracker_batch_size: int = Field(default=500, ge=1)
    tracker_flush_interval_seconds: float = Field(default=1.0, gt=0)
    # Client-side limit on one write (PyMongo's timeout()): a stalled database fails the
    # write, which is retried, instead of holding the writer forever.
    tracker_write_timeout_seconds: float = Field(default=5.0, gt=0)
    # On shutdown, how long the writer may keep trying to write what is buffered. Below
    # Kubernetes' default 30 s grace period, so the pod is not killed mid-write.
    tracker_drain_timeout_seconds: float = Field(default=20.0, gt=0)

    @field_validator("tracker_trusted_proxies", mode="before")
    @classmethod
    def _split_and_check(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [item.strip() for item in value.split(",") if item.strip()]
        for item in value:
            ipaddress.ip_network(item, strict=False)  # ValueError names the bad entry
        return value
