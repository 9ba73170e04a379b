"""The operator's delivery settings every provider is built with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mailpass_common.platform.egress import EgressPolicy
from mailpass_common.platform.settings import CommonSettings

if TYPE_CHECKING:  # the engine's modules use the providers' own
    from mailpass_common.mta.engine import MtaEngine

# The policy when none is given: tenants' providers reach public addresses only.
STRICT_EGRESS = EgressPolicy()


@dataclass(frozen=True)
class DeliveryOptions:
    """The operator's delivery settings every provider is built with."""

    # Connections kept open per SMTP provider, which is also its concurrency cap.
    smtp_max_connections: int = 8
    smtp_timeout_seconds: float = 30.0
    # A pooled SMTP connection idle longer than this is checked with NOOP before reuse.
    smtp_idle_check_seconds: float = 10.0
    # Where test API keys (mp_test_) deliver: a capture server, never a real provider.
    sandbox_smtp_host: str = "127.0.0.1"
    sandbox_smtp_port: int = 1025
    # Where tenants' providers may connect (strict unless the operator widens it).
    egress: EgressPolicy = STRICT_EGRESS
    # SES: the operator's endpoint (local testing), and whether providers without keys
    # may use the platform's own AWS identity.
    ses_endpoint_url: str | None = None
    ses_allow_ambient_credentials: bool = False
    # MailPass's own delivery, shared by every `mailpass` provider (None: not enabled, or
    # not in this process: the gateway checks providers, only the sender delivers).
    mta: MtaEngine | None = None
    # Whether the operator enabled it (MTA_HELO_HOSTNAME and MTA_RETURN_PATH_DOMAIN set).
    mta_enabled: bool = False


def delivery_options(settings: CommonSettings, **overrides: Any) -> DeliveryOptions:
    """The options with the operator's provider rules from ``settings``."""
    return DeliveryOptions(
        egress=settings.egress_policy(),
        ses_endpoint_url=settings.ses_endpoint_url,
        ses_allow_ambient_credentials=settings.ses_allow_ambient_credentials,
        mta_enabled=bool(settings.mta_helo_hostname and settings.mta_return_path_domain),
        **overrides,
    )
