"""The Gateway API route beside the Ingress, and the global image settings."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from tests.helm.chart import (
    Rendered,
    deep_merge,
    pod_template,
    render,
    render_error,
    scenario_values,
)
from tests.helm.gateway_api import HTTPRoute


@pytest.fixture(scope="module")
def everything() -> Rendered:
    return render(scenario_values()["everything-on"])


def routes_of_ingress(rendered: Rendered) -> set[tuple[str, str, str]]:
    (ingress,) = rendered.of_kind("Ingress")
    return {
        (p["pathType"], p["path"], p["backend"]["service"]["name"])
        for rule in ingress["spec"]["rules"]
        for p in rule["http"]["paths"]
    }


def test_the_http_route_serves_what_the_ingress_serves(everything: Rendered) -> None:
    (route,) = everything.of_kind("HTTPRoute")
    HTTPRoute.model_validate(route)
    served = {
        (m["path"]["type"], m["path"]["value"], rule["backendRefs"][0]["name"])
        for rule in route["spec"]["rules"]
        for m in rule["matches"]
    }
    assert served == {("PathPrefix", path, name) for _, path, name in routes_of_ingress(everything)}
    assert route["spec"]["parentRefs"] == [
        {"name": "public", "namespace": "gateway-system", "sectionName": "https"}
    ]
    ports = {s["metadata"]["name"]: s["spec"]["ports"] for s in everything.of_kind("Service")}
    for rule in route["spec"]["rules"]:
        (backend,) = rule["backendRefs"]
        assert backend["port"] in {p["port"] for p in ports[backend["name"]]}
        # never the management port (/metrics, probes)
        assert all(
            p["name"] == "http" for p in ports[backend["name"]] if p["port"] == backend["port"]
        )


def test_a_route_needs_its_gateway() -> None:
    values = deep_merge(scenario_values()["default"], {"httpRoute": {"enabled": True}})
    assert "httpRoute.parentRefs is required" in render_error(values)


def test_the_route_check_refuses_what_the_crd_would() -> None:
    route = {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": "x", "namespace": "mail"},
        "spec": {
            "parentRefs": [{"name": "public"}],
            "rules": [
                {
                    "matches": [{"path": {"type": "Prefix", "value": "/api"}}],
                    "backendRefs": [{"name": "g", "port": 80}],
                }
            ],
        },
    }
    with pytest.raises(ValidationError):
        HTTPRoute.model_validate(route)


def test_the_global_registry_and_pull_secrets_reach_every_pod(everything: Rendered) -> None:
    pods = [pod_template(o)["spec"] for o in everything.of_kind("Deployment", "Job", "CronJob")]
    assert pods
    for pod in pods:
        assert {s["name"] for s in pod["imagePullSecrets"]} == {
            "registry-credentials",
            "mirror-credentials",
        }
        for container in pod["containers"] + pod.get("initContainers", []):
            assert container["image"].startswith("registry.example.com/mailpass/mailpass:")
