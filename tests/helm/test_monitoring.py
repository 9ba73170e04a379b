"""The dashboard and the alerts: they use only metric names the services export, the
alerts carry what an on-call needs, and the chart ships both as the files say."""

from __future__ import annotations

import importlib
import importlib.util
import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from prometheus_client import REGISTRY, CollectorRegistry
from prometheus_client.metrics import MetricWrapperBase

from tests.helm.chart import CHART_DIR, ROOT, Rendered, deep_merge, render, scenario_values

FILES = CHART_DIR / "files"
ALERTS = FILES / "mailpass-alerts.yaml"
DASHBOARD = FILES / "mailpass-dashboard.json"
METRICS_MODULES = [
    "mailpass_common.platform.metrics",
    "mailpass_gateway.metrics",
    "mailpass_sender.metrics",
    "mailpass_tracker.metrics",
    "mailpass_scheduler.metrics",
    "mailpass_webhooks.metrics",
    "mailpass_inbound.metrics",
    "mailpass_common.smtp_server.metrics",
    "mailpass_common.mta.backoff",
    "mailpass_smtp.metrics",
]
SUFFIXES = {
    "counter": ["_total"],
    "histogram": ["_bucket", "_count", "_sum"],
    "summary": ["", "_count", "_sum"],
    "gauge": [""],
    "info": ["_info"],
    "stateset": [""],
    "enum": [""],
    "unknown": [""],
}
METRIC_NAME = re.compile(r"\bmailpass_[A-Za-z0-9_]*[A-Za-z0-9]")
STRING = re.compile(r'"(?:[^"\\]|\\.)*"')  # label values are not metric names


def exported_metric_names() -> set[str]:
    """Sample names of every metric the services' metrics modules define: those in the
    default registry, and those of any registry a module keeps (e.g. one it pushes)."""
    registries: list[CollectorRegistry] = [REGISTRY]
    names: set[str] = set()
    for module_name in METRICS_MODULES:
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        for value in vars(module).values():
            if isinstance(value, CollectorRegistry) and value not in registries:
                registries.append(value)
            if isinstance(value, MetricWrapperBase):
                names |= {f"{value._name}{s}" for s in SUFFIXES[str(value._type)]}
    for registry in registries:
        for family in registry.collect():
            names |= {f"{family.name}{s}" for s in SUFFIXES[family.type]}
            names |= {sample.name for sample in family.samples}
    return {name for name in names if name.startswith("mailpass_")}


def alert_rules() -> list[dict[str, Any]]:
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    return [rule for group in groups for rule in group["rules"]]


def dashboard() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return loaded


def dashboard_queries() -> list[str]:
    board = dashboard()
    queries = [t["expr"] for p in board["panels"] for t in p.get("targets", [])]
    queries += [v["definition"] for v in board["templating"]["list"] if v.get("definition")]
    return queries


def used_metric_names(queries: list[str]) -> set[str]:
    return {name for query in queries for name in METRIC_NAME.findall(STRING.sub('""', query))}


def test_alerts_use_only_exported_metrics() -> None:
    missing = used_metric_names([rule["expr"] for rule in alert_rules()]) - exported_metric_names()
    assert not missing, f"the alerts use metrics no service exports: {sorted(missing)}"


def test_dashboard_uses_only_exported_metrics() -> None:
    missing = used_metric_names(dashboard_queries()) - exported_metric_names()
    assert not missing, f"the dashboard uses metrics no service exports: {sorted(missing)}"


def test_the_metric_name_check_sees_every_name_in_a_query() -> None:
    query = 'sum(rate(mailpass_x_total{a="mailpass_b\\"c"}[5m]))/mailpass_y_seconds_bucket > 1'
    assert used_metric_names([query]) == {"mailpass_x_total", "mailpass_y_seconds_bucket"}


def test_every_alert_tells_what_happened_and_what_to_do() -> None:
    rules = alert_rules()
    assert {r["alert"] for r in rules} == {
        "MailPassDeliveryFailureRatioHigh",
        "MailPassBatchBacklogTooOld",
        "MailPassSchedulerNotSucceeding",
        "MailPassGateway5xxRatioHigh",
        "MailPassSenderNotConsuming",
        "MailPassWebhookFailureRatioHigh",
        "MailPassMessagesDeadLettered",
        "MailPassProviderCircuitOpen",
        "MailPassTargetDown",
        "MailPassTrackerEventsDropped",
        "MailPassWebhookEndpointsDisabled",
        "MailPassBatchBacklogGrowing",
        "MailPassSendQueueNoConsumer",
        "MailPassDeliveryLate",
        "MailPassInboundErrors",
        "MailPassInboundRefusingReturnPaths",
        "MailPassMtaThrottled",
    }
    for rule in rules:
        annotations = set(rule["annotations"])
        assert {"summary", "description", "runbook", "runbook_url"} <= annotations, rule["alert"]
        assert all(len(text) > 20 for text in rule["annotations"].values()), rule["alert"]
        assert rule["labels"]["severity"] in {"warning", "critical"}
        assert re.fullmatch(r"\d+m", rule["for"])


def test_the_file_and_the_chart_defaults_agree() -> None:
    """Each expression ends with its threshold (the chart replaces it), and the file's
    threshold, duration and severity are the chart's defaults."""
    defaults = yaml.safe_load((CHART_DIR / "values.yaml").read_text())
    settings = defaults["metrics"]["prometheusRule"]["rules"]
    assert set(settings) == {r["alert"] for r in alert_rules()}
    for rule in alert_rules():
        match = re.search(r">\s*([0-9.eE+-]+)\s*$", rule["expr"])
        assert match, f"{rule['alert']}: the expression must end with `> THRESHOLD`"
        assert float(match.group(1)) == settings[rule["alert"]]["threshold"]
        assert rule["for"] == settings[rule["alert"]]["for"]
        assert rule["labels"]["severity"] == settings[rule["alert"]]["severity"]


def rendered_rules(rendered: Rendered) -> dict[str, dict[str, Any]]:
    (rule_object,) = rendered.of_kind("PrometheusRule")
    return {r["alert"]: r for g in rule_object["spec"]["groups"] for r in g["rules"]}


def test_the_prometheus_rule_takes_thresholds_and_labels_from_values() -> None:
    rendered = render(scenario_values()["everything-on"])
    (rule_object,) = rendered.of_kind("PrometheusRule")
    assert rule_object["metadata"]["labels"]["release"] == "kube-prometheus-stack"
    rules = rendered_rules(rendered)
    assert rules["MailPassBatchBacklogTooOld"]["expr"].rstrip().endswith("> 7200")
    assert rules["MailPassGateway5xxRatioHigh"]["expr"].rstrip().endswith("> 0.05")
    for name, rule in rules.items():
        assert rule["labels"]["team"] == "messaging", name
        (source,) = [r for r in alert_rules() if r["alert"] == name]
        assert rule["annotations"] == source["annotations"]


def test_an_alert_can_be_switched_off_and_retuned() -> None:
    values = deep_merge(
        scenario_values()["everything-on"],
        {
            "metrics": {
                "prometheusRule": {
                    "rules": {
                        "MailPassSenderNotConsuming": {"enabled": False},
                        "MailPassDeliveryFailureRatioHigh": {
                            "threshold": 0.25,
                            "for": "30m",
                            "severity": "critical",
                        },
                    }
                }
            }
        },
    )
    rules = rendered_rules(render(values))
    assert "MailPassSenderNotConsuming" not in rules
    failing = rules["MailPassDeliveryFailureRatioHigh"]
    assert failing["expr"].rstrip().endswith("> 0.25")
    assert (failing["for"], failing["labels"]["severity"]) == ("30m", "critical")


def test_the_dashboard_answers_the_three_questions_first() -> None:
    board = dashboard()
    rows = [p["title"] for p in board["panels"] if p["type"] == "row"]
    assert rows[:3] == ["Is mail going out?", "Is it late?", "Who is failing?"]
    assert any(title.startswith("Queues") for title in rows)
    for panel in board["panels"]:
        if panel["type"] != "row":
            assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
            assert panel["targets"] and panel.get("description"), panel["title"]
    ids = [p["id"] for p in board["panels"]]
    assert len(ids) == len(set(ids))


def test_the_dashboard_configmap_carries_the_file_for_the_sidecar() -> None:
    rendered = render(scenario_values()["everything-on"])
    (config,) = [
        c for c in rendered.of_kind("ConfigMap") if c["metadata"]["name"].endswith("-dashboard")
    ]
    assert config["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(config["data"]["mailpass-dashboard.json"]) == dashboard()


@pytest.mark.parametrize("name", ["mailpass-dashboard.json", "mailpass-alerts.yaml"])
def test_deploy_monitoring_links_to_the_charts_files(name: str) -> None:
    link = ROOT / "deploy" / "monitoring" / name
    assert link.is_symlink()
    assert link.resolve() == (FILES / name).resolve()
    assert Path(link).read_bytes() == (FILES / name).read_bytes()
