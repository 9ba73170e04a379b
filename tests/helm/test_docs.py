"""The chart documents itself: the README lists every value, the schema knows every value
and closes every object it describes, and the notes tell how to get a first API key."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import yaml

from tests.helm.chart import CHART_DIR, REQUIRED_VALUES, render

VALUES = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
README = (CHART_DIR / "README.md").read_text()
SCHEMA = json.loads((CHART_DIR / "values.schema.json").read_text())
# Kubernetes objects passed through as they are (the chart only names a few of their
# fields); kubernetes-validate checks them in the rendered output.
OPEN_OBJECTS = {
    # `global` is shared with the other charts of an umbrella chart: their keys are not ours
    "#/properties/global",
    "#/definitions/podSecurityContext",
    "#/definitions/containerSecurityContext",
    "#/definitions/envList/items",
}


def value_paths(values: dict[str, Any], prefix: str = "") -> Iterator[str]:
    """Every value a user sets: maps are walked into unless they are free-form (label
    maps, selectors), whose keys are not the chart's."""
    for key, value in values.items():
        path = f"{prefix}.{key}" if prefix else key
        chart_keys = (
            all(re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", k) for k in value or {})
            if isinstance(value, dict)
            else False
        )
        selector = isinstance(value, dict) and {"namespaceSelector", "podSelector"} & set(value)
        if isinstance(value, dict) and value and chart_keys and not selector:
            yield from value_paths(value, path)
        else:
            yield path


def test_the_readme_lists_every_value() -> None:
    listed = set(re.findall(r"^\| `([^`]+)` \|", README, flags=re.MULTILINE))
    paths = set(value_paths(VALUES))
    assert len(paths) > 300
    assert not paths - listed, f"missing from the README: {sorted(paths - listed)}"
    assert not listed - paths, f"in the README but not in values.yaml: {sorted(listed - paths)}"


def schema_objects(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        if "properties" in node:
            yield where, node
        for key, child in node.items():
            yield from schema_objects(child, f"{where}/{key}")


def test_the_schema_closes_every_object_it_describes() -> None:
    for where, node in schema_objects(SCHEMA):
        if where in OPEN_OBJECTS:
            continue
        assert node.get("additionalProperties") is False, where


def test_the_schema_describes_every_value() -> None:
    definitions = SCHEMA["definitions"]

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            node = definitions[node["$ref"].rsplit("/", 1)[-1]]
        return node

    for path in value_paths(VALUES):
        node = SCHEMA
        for key in path.split("."):
            node = resolve(node)
            if key not in node.get("properties", {}):
                assert node.get("additionalProperties") is not False, path
                break
            node = node["properties"][key]


def test_the_notes_tell_how_to_get_a_first_api_key() -> None:
    notes = render(REQUIRED_VALUES).notes
    assert "mailpass accounts create" in notes
    assert "mailpass keys create --account" in notes
    assert "exec deploy/mailpass-gateway" in notes
    assert "/api/v1/mail/send" in notes


def test_the_readme_tells_how_to_install_against_existing_brokers_and_databases() -> None:
    for needed in (
        "secrets.existingSecret",
        "secrets.mongodbUrl",
        "secrets.amqpUrl",
        "networkPolicy.rabbitmq.to",
        "networkPolicy.mongodb.to",
        "helm install",
    ):
        assert needed in README, needed
