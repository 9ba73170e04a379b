"""The stack `make bench` starts passes its own settings checks, in a clean environment."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailpass_common.platform.settings import CommonSettings
from mailpass_dev.stack import Stack, StackConfig


def test_the_stack_environment_is_a_valid_development_setting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ENVIRONMENT", "SECRET_KEY", "PROVIDER_ALLOWED_NETWORKS"):
        monkeypatch.delenv(name, raising=False)
    stack = Stack(StackConfig(log_dir=tmp_path))
    settings = stack.settings()
    assert settings.environment == "development"
    # What the services read: the SMTP sinks on loopback, on a port of their own, pass.
    given: dict[str, Any] = {
        name.lower(): value
        for name, value in stack.env.items()
        if name in ("ENVIRONMENT", "PROVIDER_ALLOWED_NETWORKS", "PROVIDER_ALLOWED_SMTP_PORTS")
    }
    policy = CommonSettings(**given).egress_policy()
    assert policy.allowed_networks and any(25025 in ports for ports in policy.extra_smtp_ports)
