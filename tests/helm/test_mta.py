"""MailPass SMTP in the chart: port 25 on public addresses only when it is enabled, and the
sender's MTA settings from the values."""

from __future__ import annotations

from typing import Any

from tests.helm.chart import (
    REQUIRED_VALUES,
    Rendered,
    component_of,
    containers,
    deep_merge,
    render,
    render_error,
)

MTA = {
    "mta": {"enabled": True, "heloHostname": "mta.example.com", "maxConnectionsPerHost": 4},
    "config": {"mtaReturnPathDomain": "bounces.example.com"},
}


def internet_ports(rendered: Rendered) -> set[int]:
    (policy,) = [p for p in rendered.of_kind("NetworkPolicy") if component_of(p) == "sender"]
    (rule,) = [
        r
        for r in policy["spec"]["egress"]
        if any(peer.get("ipBlock", {}).get("cidr") == "0.0.0.0/0" for peer in r.get("to", []))
    ]
    return {int(p["port"]) for p in rule["ports"]}


def sender_env(rendered: Rendered) -> dict[str, Any]:
    (deployment,) = [d for d in rendered.of_kind("Deployment") if component_of(d) == "sender"]
    (container,) = containers(deployment)
    return {e["name"]: e.get("value") for e in container.get("env", [])}


def test_port_25_is_opened_only_for_mailpass_smtp() -> None:
    off = render(REQUIRED_VALUES)
    assert 25 not in internet_ports(off)
    assert "MTA_HELO_HOSTNAME" not in sender_env(off)

    on = render(deep_merge(REQUIRED_VALUES, MTA))
    assert internet_ports(on) == {25, 465, 587, 2525, 443}
    env = sender_env(on)
    assert env["MTA_HELO_HOSTNAME"] == "mta.example.com"
    assert env["MTA_MAX_CONNECTIONS_PER_HOST"] == "4"
    assert env["MTA_BACKOFF_SECONDS"] == "300"
    (config,) = on.of_kind("ConfigMap")
    assert config["data"]["MTA_RETURN_PATH_DOMAIN"] == "bounces.example.com"


def test_mailpass_smtp_needs_a_helo_hostname_and_a_return_path_domain() -> None:
    no_helo = deep_merge(REQUIRED_VALUES, {**MTA, "mta": {"enabled": True}})
    assert "mta.heloHostname" in render_error(no_helo)
    no_return_path = deep_merge(REQUIRED_VALUES, {"mta": MTA["mta"]})
    assert "config.mtaReturnPathDomain" in render_error(no_return_path)
