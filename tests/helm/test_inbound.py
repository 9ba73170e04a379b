"""mailpass-inbound in the chart: an MX on port 25 from a container that binds a high
port as an unprivileged user, its management port kept off the load balancer."""

from __future__ import annotations

from tests.helm.chart import (
    REQUIRED_VALUES,
    Rendered,
    component_of,
    containers,
    deep_merge,
    render,
    render_error,
    scenario_values,
)

ON = {"inbound": {"enabled": True}, "config": {"mtaReturnPathDomain": "bounces.example.com"}}


def inbound_objects(rendered: Rendered, kind: str) -> list[dict]:  # type: ignore[type-arg]
    return [o for o in rendered.of_kind(kind) if component_of(o) == "inbound"]


def test_it_is_off_by_default_and_needs_the_return_path_domain() -> None:
    assert not inbound_objects(render(REQUIRED_VALUES), "Deployment")
    error = render_error(deep_merge(REQUIRED_VALUES, {"inbound": {"enabled": True}}))
    assert "config.mtaReturnPathDomain is required" in error


def test_port_25_reaches_an_unprivileged_high_port() -> None:
    rendered = render(deep_merge(REQUIRED_VALUES, ON))
    (deployment,) = inbound_objects(rendered, "Deployment")
    (container,) = containers(deployment)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"smtp": 2525, "management": 9105}
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert (env["INBOUND_SMTP_HOST"], env["INBOUND_SMTP_PORT"]) == ("0.0.0.0", "2525")
    security = container["securityContext"]
    assert security["runAsUser"] == 10001 and security["capabilities"] == {"drop": ["ALL"]}
    (config,) = [c for c in rendered.of_kind("ConfigMap") if "MTA_RETURN_PATH_DOMAIN" in c["data"]]
    assert config["data"]["MTA_RETURN_PATH_DOMAIN"] == "bounces.example.com"

    services = {s["metadata"]["name"]: s["spec"] for s in inbound_objects(rendered, "Service")}
    mx, management = services["mailpass-inbound"], services["mailpass-inbound-management"]
    assert mx["type"] == "LoadBalancer" and mx["externalTrafficPolicy"] == "Local"
    assert mx["ports"] == [{"name": "smtp", "port": 25, "targetPort": "smtp", "protocol": "TCP"}]
    assert management["type"] == "ClusterIP"
    assert [p["targetPort"] for p in management["ports"]] == ["management"]


def test_starttls_takes_its_certificate_from_a_secret() -> None:
    rendered = render(scenario_values()["everything-on"])
    (deployment,) = inbound_objects(rendered, "Deployment")
    (container,) = containers(deployment)
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["INBOUND_TLS_CERT_FILE"] == "/etc/mailpass/inbound-tls/tls.crt"
    volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
    assert volumes["inbound-tls"]["secret"]["secretName"] == "mailpass-inbound-tls"
