"""Renders the chart with Helm's own Go SDK (helm-python-sdk) and reads what came out.

The scenarios are the values files under ``deploy/helm/mailpass/ci/`` (the ones
chart-testing installs) plus ``default``: the chart's defaults with only the three
settings an install cannot do without.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
CHART_DIR = ROOT / "deploy" / "helm" / "mailpass"
CI_DIR = CHART_DIR / "ci"
RELEASE = "mailpass"
NAMESPACE = "mail"

# What `helm install` needs beyond the defaults: the three required secret settings.
REQUIRED_VALUES: dict[str, Any] = {
    "secrets": {
        "secretKey": "test-only-secret-key-0123456789abcdefghijkl",
        "mongodbUrl": "mongodb://mailpass:test-only-password@mongodb:27017/",
        "amqpUrl": "amqp://mailpass:test-only-password@rabbitmq:5672/",
    }
}

Manifest = dict[str, Any]


def require(module: str, package: str) -> ModuleType:
    """Import a test tool, or fail (never skip) saying how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        pytest.fail(
            f"{package} is not installed ({exc}); run `make install` "
            f"(it is in the dev extra of pyproject.toml)",
            pytrace=False,
        )


def scenario_values() -> dict[str, dict[str, Any]]:
    scenarios = {"default": REQUIRED_VALUES}
    for path in sorted(CI_DIR.glob("*-values.yaml")):
        scenarios[path.name.removesuffix("-values.yaml")] = yaml.safe_load(path.read_text())
    return scenarios


@dataclass
class Rendered:
    """One scenario's output: the objects (hooks included) and NOTES.txt."""

    values: dict[str, Any]
    objects: list[Manifest]
    notes: str
    sources: dict[str, str] = field(default_factory=dict)

    def of_kind(self, *kinds: str) -> list[Manifest]:
        return [o for o in self.objects if o["kind"] in kinds]

    def named(self, kind: str, name: str) -> Manifest:
        matches = [o for o in self.of_kind(kind) if o["metadata"]["name"] == name]
        assert len(matches) == 1, f"{kind}/{name}: {len(matches)} objects"
        return matches[0]

    def kinds(self) -> set[str]:
        return {o["kind"] for o in self.objects}


def render(values: dict[str, Any]) -> Rendered:
    helm = require("helm_python", "helm-python-sdk")
    with helm.Chart.load(CHART_DIR) as chart:
        manifests = chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
    objects: list[Manifest] = []
    notes = ""
    for source, text in sorted(manifests.items()):
        if source.endswith("NOTES.txt"):
            notes = text
            continue
        for document in yaml.safe_load_all(text):
            if document:
                objects.append(document)
    return Rendered(values=values, objects=objects, notes=notes, sources=manifests)


def render_error(values: dict[str, Any]) -> str:
    """The message of a render that must fail."""
    helm = require("helm_python", "helm-python-sdk")
    with helm.Chart.load(CHART_DIR) as chart:
        try:
            chart.render(values, name=RELEASE, namespace=NAMESPACE, is_install=True)
        except helm.HelmError as exc:
            return str(exc)
    raise AssertionError("the render succeeded")


def pod_template(obj: Manifest) -> Manifest:
    """The pod template of a Deployment, Job or CronJob."""
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]  # type: ignore[no-any-return]
    return obj["spec"]["template"]  # type: ignore[no-any-return]


def workloads(rendered: Rendered) -> list[Manifest]:
    return rendered.of_kind("Deployment", "CronJob", "Job")


def containers(obj: Manifest) -> list[Manifest]:
    spec = pod_template(obj)["spec"]
    return [*spec.get("initContainers", []), *spec["containers"]]


def component_of(obj: Manifest) -> str | None:
    labels: dict[str, str] = obj["metadata"].get("labels", {})
    return labels.get("app.kubernetes.io/component")


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged
