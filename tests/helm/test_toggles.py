"""Every optional object has a switch, and a switch that is off renders nothing of it;
values the install cannot do without stop it with a message that says what to set."""

from __future__ import annotations

from typing import Any

import pytest

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

EVERYTHING_ON = scenario_values()["everything-on"]


def nested(path: str, value: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    node = result
    *parents, last = path.split(".")
    for key in parents:
        node = node.setdefault(key, {})
    node[last] = value
    return result


def owned(rendered: Rendered, kind: str, component: str | None) -> list[str]:
    return [
        o["metadata"]["name"]
        for o in rendered.of_kind(kind)
        if component is None or component_of(o) == component
    ]


# switch -> (kind, component of the objects it controls, or None for "any")
TOGGLES = {
    "ingress.enabled": ("Ingress", None),
    "serviceAccount.create": ("ServiceAccount", None),
    "dbInit.enabled": ("Job", None),
    "gateway.pdb.enabled": ("PodDisruptionBudget", "gateway"),
    "sender.pdb.enabled": ("PodDisruptionBudget", "sender"),
    "tracker.pdb.enabled": ("PodDisruptionBudget", "tracker"),
    "webhooks.pdb.enabled": ("PodDisruptionBudget", "webhooks"),
    "gateway.autoscaling.hpa.enabled": ("HorizontalPodAutoscaler", "gateway"),
    "sender.autoscaling.hpa.enabled": ("HorizontalPodAutoscaler", "sender"),
    "tracker.autoscaling.hpa.enabled": ("HorizontalPodAutoscaler", "tracker"),
    "webhooks.autoscaling.hpa.enabled": ("HorizontalPodAutoscaler", "webhooks"),
    "gateway.networkPolicy.enabled": ("NetworkPolicy", "gateway"),
    "sender.networkPolicy.enabled": ("NetworkPolicy", "sender"),
    "tracker.networkPolicy.enabled": ("NetworkPolicy", "tracker"),
    "webhooks.networkPolicy.enabled": ("NetworkPolicy", "webhooks"),
    "inbound.enabled": ("Deployment", "inbound"),
    "inbound.pdb.enabled": ("PodDisruptionBudget", "inbound"),
    "inbound.autoscaling.hpa.enabled": ("HorizontalPodAutoscaler", "inbound"),
    "inbound.networkPolicy.enabled": ("NetworkPolicy", "inbound"),
    "smtp.enabled": ("Deployment", "smtp"),
    "smtp.pdb.enabled": ("PodDisruptionBudget", "smtp"),
    "smtp.autoscaling.hpa.enabled": ("HorizontalPodAutoscaler", "smtp"),
    "smtp.networkPolicy.enabled": ("NetworkPolicy", "smtp"),
    "scheduler.networkPolicy.enabled": ("NetworkPolicy", "scheduler"),
    "dbInit.networkPolicy.enabled": ("NetworkPolicy", "db-init"),
    "metrics.serviceMonitor.enabled": ("ServiceMonitor", None),
    "metrics.prometheusRule.enabled": ("PrometheusRule", None),
    "metrics.dashboard.enabled": ("ConfigMap", ""),
}


@pytest.mark.parametrize("switch", sorted(TOGGLES))
def test_a_switch_that_is_off_renders_nothing(switch: str) -> None:
    kind, component = TOGGLES[switch]
    on = render(deep_merge(EVERYTHING_ON, nested(switch, True)))
    off = render(deep_merge(EVERYTHING_ON, nested(switch, False)))
    if kind == "ConfigMap":  # the dashboard's; the settings ConfigMap always stays
        assert [n for n in owned(on, kind, None) if n.endswith("-dashboard")]
        assert not [n for n in owned(off, kind, None) if n.endswith("-dashboard")]
        return
    assert owned(on, kind, component), f"{switch}=true renders no {kind}"
    assert not owned(off, kind, component), f"{switch}=false still renders a {kind}"
    assert len(off.objects) < len(on.objects)


def test_keda_replaces_the_senders_hpa() -> None:
    keda = render(scenario_values()["keda"])
    assert [o["metadata"]["name"] for o in keda.of_kind("ScaledObject")] == ["mailpass-sender"]
    assert not owned(keda, "HorizontalPodAutoscaler", "sender")
    assert not render(REQUIRED_VALUES).of_kind("ScaledObject")
    both = nested("sender.autoscaling", {"hpa": {"enabled": True}, "keda": {"enabled": True}})
    assert "exclude each other" in render_error(deep_merge(REQUIRED_VALUES, both))
    # KEDA's RabbitMQ scaler reads AMQP_URL and takes one host, not a list of nodes.
    listed = nested("secrets.amqpUrl", "amqp://u:p@rabbit-0:5672,rabbit-1:5672/mailpass")
    keda_on = scenario_values()["keda"]
    assert "takes one host" in render_error(deep_merge(keda_on, listed))
    assert render(deep_merge(REQUIRED_VALUES, listed)).of_kind("Deployment")  # fine without


def test_with_every_switch_off_only_the_workloads_remain() -> None:
    rendered = render(scenario_values()["toggles-off"])
    assert rendered.kinds() == {"ConfigMap", "Deployment", "CronJob", "Service"}
    assert not rendered.of_kind("Secret")  # existingSecret


@pytest.mark.parametrize(
    ("switch", "field"),
    [
        ("livenessProbe", "livenessProbe"),
        ("readinessProbe", "readinessProbe"),
        ("startupProbe", "startupProbe"),
        ("containerSecurityContext", "securityContext"),
    ],
)
def test_container_switches_remove_their_field(switch: str, field: str) -> None:
    off = render(deep_merge(REQUIRED_VALUES, nested(f"gateway.{switch}.enabled", False)))
    (gateway,) = [d for d in off.of_kind("Deployment") if component_of(d) == "gateway"]
    (container,) = containers(gateway)
    assert field not in container
    (sender,) = [d for d in off.of_kind("Deployment") if component_of(d) == "sender"]
    assert field in containers(sender)[0]


@pytest.mark.parametrize(
    ("missing", "message"),
    [
        ("secretKey", "secrets.secretKey is required"),
        ("mongodbUrl", "secrets.mongodbUrl is required"),
        ("amqpUrl", "secrets.amqpUrl is required"),
    ],
)
def test_the_install_names_what_is_missing(missing: str, message: str) -> None:
    secrets = {k: v for k, v in REQUIRED_VALUES["secrets"].items() if k != missing}
    error = render_error({"secrets": secrets})
    assert message in error and "existingSecret" in error


def test_the_defaults_alone_do_not_install() -> None:
    assert "secrets.secretKey is required" in render_error({})


def test_a_short_secret_key_is_refused() -> None:
    error = render_error(deep_merge(REQUIRED_VALUES, nested("secrets.secretKey", "x" * 31)))
    assert "at least 32 bytes" in error


def test_an_ingress_needs_a_hostname() -> None:
    error = render_error(deep_merge(REQUIRED_VALUES, nested("ingress.enabled", True)))
    assert "ingress.hostname is required" in error


@pytest.mark.parametrize(
    "values",
    [
        {"gateway": {"replicas": 2}},  # misspelt key
        {"gateway": {"replicaCount": "two"}},
        {"config": {"providerAllowedNetworks": ["not-a-cidr"]}},
        {"opentelemetry": {"env": {"JAVA_OPTS": "-X"}}},
        {"metrics": {"prometheusRule": {"rules": {"MailPassUnknown": {"enabled": True}}}}},
        {"image": {"pullPolicy": "Sometimes"}},
    ],
)
def test_the_schema_refuses_what_the_chart_does_not_know(values: dict[str, Any]) -> None:
    assert "schema" in render_error(deep_merge(REQUIRED_VALUES, values))
