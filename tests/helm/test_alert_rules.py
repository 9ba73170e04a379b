"""The alerts under promtool: the rule file is valid, every alert has unit tests with
series that fire it and series that do not (tests/helm/alerts/<alert>.yaml), the chart's
rendered rules keep to their release, and every runbook_url has its section."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.chart import ROOT, deep_merge, render, scenario_values
from tests.helm.test_monitoring import ALERTS, alert_rules

UNIT_TESTS = Path(__file__).parent / "alerts"
RUNBOOKS = ROOT / "docs" / "runbooks.md"
ALERT_NAMES = sorted(rule["alert"] for rule in alert_rules())


def promtool(*args: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    program = shutil.which("promtool")
    assert program, (
        "promtool is missing: apt-get install -y prometheus (make test installs it as root)"
    )
    return subprocess.run(
        [program, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd
    )


def test_the_rule_file_is_valid() -> None:
    done = promtool("check", "rules", ALERTS)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(ALERT_NAMES)} rules found" in done.stdout


@pytest.mark.parametrize("alert", ALERT_NAMES)
def test_each_alert_fires_on_its_series_and_not_on_others(alert: str) -> None:
    path = UNIT_TESTS / f"{alert}.yaml"
    assert path.is_file(), f"{alert} has no promtool unit tests ({path})"
    checks = [
        check
        for group in yaml.safe_load(path.read_text())["tests"]
        for check in group["promql_expr_test"]
    ]
    assert all(f'alertname="{alert}"' in check["expr"] for check in checks)
    assert any(check["exp_samples"] for check in checks), f"{alert}: no series fire it"
    assert any(not check["exp_samples"] for check in checks), f"{alert}: nothing fails to"
    done = promtool("test", "rules", path.name, cwd=UNIT_TESTS)
    assert done.returncode == 0, done.stdout + done.stderr


def test_every_alert_links_to_its_runbook_section() -> None:
    headings = {
        line[3:].strip().lower() for line in RUNBOOKS.read_text().splitlines() if line[:3] == "## "
    }
    for rule in alert_rules():
        url = rule["annotations"]["runbook_url"]
        assert url == f"docs/runbooks.md#{rule['alert'].lower()}", rule["alert"]
        assert rule["alert"].lower() in headings, f"docs/runbooks.md has no section {url}"


def rendered_groups(values: dict[str, Any]) -> list[dict[str, Any]]:
    (rule_object,) = render(values).of_kind("PrometheusRule")
    groups: list[dict[str, Any]] = rule_object["spec"]["groups"]
    return groups


SCOPED_TEST = Path(__file__).parent / "scoped_rules_test.yaml"


def test_the_charts_rules_keep_to_their_release(tmp_path: Path) -> None:
    """Rendered in namespace `mail` with the AMQP prefix `mp-eu`, the rules see that
    namespace's series and that prefix's queues only, and carry the operator's own rule."""
    values = deep_merge(
        scenario_values()["everything-on"],
        {
            "config": {"amqpPrefix": "mp-eu"},
            "metrics": {
                "prometheusRule": {"additionalRules": [{"alert": "Mine", "expr": "vector(1) > 0"}]}
            },
        },
    )
    groups = rendered_groups(values)
    assert groups[-1]["name"] == "mailpass-additional"
    (tmp_path / "rules.yaml").write_text(yaml.safe_dump({"groups": groups}))
    shutil.copy(SCOPED_TEST, tmp_path / "scoped.yaml")
    done = promtool("test", "rules", "scoped.yaml", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr


def test_runbook_urls_take_the_base_url() -> None:
    values = deep_merge(
        scenario_values()["everything-on"],
        {"metrics": {"prometheusRule": {"runbookBaseUrl": "https://git.example/mailpass/docs/"}}},
    )
    urls = [r["annotations"]["runbook_url"] for g in rendered_groups(values) for r in g["rules"]]
    assert urls and all(
        re.fullmatch(r"https://git\.example/mailpass/docs/runbooks\.md#mailpass\w+", url)
        for url in urls
    )
