"""The provider rules of the tests: local servers on loopback, on any port, stand in for
SMTP relays and the HTTP APIs, so the tests allow what production refuses."""

from __future__ import annotations

from typing import Any

from mailpass_common.platform.settings import CommonSettings

# Settings fields (as the environment would give them) for services and CLI runs.
LOCAL_PROVIDER_RULES: dict[str, Any] = {
    "environment": "development",
    "provider_allowed_networks": "127.0.0.0/8,::1/128",
    "provider_allowed_smtp_ports": "1-65535",
    "provider_allowed_api_hosts": "127.0.0.1,localhost",
}

# The same rules for providers a test builds itself.
LOCAL_EGRESS = CommonSettings(**LOCAL_PROVIDER_RULES).egress_policy()
