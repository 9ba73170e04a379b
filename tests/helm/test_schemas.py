"""Every rendered object is valid for the Kubernetes versions the chart supports, and the
chart lints clean.

Built-in kinds are checked with kubernetes-validate in strict mode (unknown fields are
errors) for Kubernetes 1.29, the chart's floor, and the newest version it ships. The
custom resources (ServiceMonitor, PrometheusRule, ScaledObject) are checked against
models generated from the Prometheus Operator and KEDA CRDs: parsed, then dumped back,
and any field that did not survive the round trip is unknown to the CRD.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.helm.chart import CHART_DIR, NAMESPACE, Manifest, Rendered, require, scenario_values
from tests.helm.gateway_api import HTTPRoute

OLDEST_SUPPORTED = "1.29"
CUSTOM_RESOURCES = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): (
        "cloudcoil.models.prometheus_operator.v1",
        "ServiceMonitor",
    ),
    ("monitoring.coreos.com/v1", "PrometheusRule"): (
        "cloudcoil.models.prometheus_operator.v1",
        "PrometheusRule",
    ),
    ("keda.sh/v1alpha1", "ScaledObject"): ("cloudcoil.models.keda.v1alpha1", "ScaledObject"),
}


def kubernetes_versions() -> list[str]:
    kv = require("kubernetes_validate", "kubernetes-validate")
    return [OLDEST_SUPPORTED, kv.utils.major_minor(kv.latest_version())]


def unknown_fields(given: Any, kept: Any, path: str = "") -> list[str]:
    """Paths present in ``given`` that the model dropped."""
    if isinstance(given, dict):
        if not isinstance(kept, dict):
            return [path or "."]
        return [
            problem
            for key, value in given.items()
            for problem in (
                [f"{path}.{key}"]
                if key not in kept
                else unknown_fields(value, kept[key], f"{path}.{key}")
            )
        ]
    if isinstance(given, list) and isinstance(kept, list):
        return [
            problem
            for index, (a, b) in enumerate(zip(given, kept, strict=True))
            for problem in unknown_fields(a, b, f"{path}[{index}]")
        ]
    return []


def validate_custom_resource(obj: Manifest) -> list[str]:
    module_name, class_name = CUSTOM_RESOURCES[(obj["apiVersion"], obj["kind"])]
    require("cloudcoil", "cloudcoil-models-prometheus-operator / cloudcoil-models-keda")
    model = getattr(require(module_name, "cloudcoil CRD models"), class_name)
    parsed = model.model_validate(obj)
    return unknown_fields(obj, parsed.model_dump(by_alias=True, exclude_none=True, mode="json"))


def test_every_object_is_valid_kubernetes(scenario: Rendered) -> None:
    kv = require("kubernetes_validate", "kubernetes-validate")
    problems = []
    for obj in scenario.objects:
        name = f"{obj['kind']}/{obj['metadata']['name']}"
        if obj["kind"] == "HTTPRoute":
            HTTPRoute.model_validate(obj)
            continue
        if (obj["apiVersion"], obj["kind"]) in CUSTOM_RESOURCES:
            problems += [f"{name}: unknown field {p}" for p in validate_custom_resource(obj)]
            continue
        for version in kubernetes_versions():
            try:
                kv.validate(obj, version, strict=True)
            except kv.ValidationError as exc:
                problems.append(f"{name} (Kubernetes {version}): {exc.message} at {exc.path}")
    assert not problems, "\n".join(problems)


def test_every_object_lives_in_the_release_namespace(scenario: Rendered) -> None:
    outside = [
        f"{o['kind']}/{o['metadata']['name']}"
        for o in scenario.objects
        if o["metadata"].get("namespace") != NAMESPACE
    ]
    assert not outside


def test_custom_resource_check_finds_unknown_fields() -> None:
    """The round trip above would not let a misspelt field through."""
    monitor = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "ServiceMonitor",
        "metadata": {"name": "x"},
        "spec": {"selector": {}, "endpoints": [{"port": "management", "intervall": "30s"}]},
    }
    assert validate_custom_resource(monitor) == [".spec.endpoints[0].intervall"]


@pytest.mark.parametrize("name", sorted(scenario_values()))
def test_chart_lints_clean(name: str) -> None:
    helm = require("helm_python", "helm-python-sdk")
    values = scenario_values()[name]
    for version in kubernetes_versions():
        report = helm.lint(CHART_DIR, values, strict=True, kube_version=f"v{version}.0")
        # Severity 1 is information (e.g. "icon is recommended"); 2 and 3 fail.
        findings = [m for m in report["messages"] if m["severity"] >= 2]
        assert not findings and not report["errors"], (version, findings, report["errors"])
