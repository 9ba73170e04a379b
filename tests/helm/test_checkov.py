"""checkov's Kubernetes checks on every scenario's rendered manifests: no failure but the
ones justified below, each with its reason.

checkov runs from its own virtual environment (.venv/checkov, requirements-checkov.lock:
its pins would downgrade the services' dependencies), once for all scenarios, offline.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helm.chart import ROOT, Rendered, workloads

CHECKOV = ROOT / ".venv" / "checkov" / "bin" / "checkov"

JUSTIFIED = {
    # CPU limits: CFS quotas throttle a latency-sensitive Python service even when the
    # node has idle CPU; every container requests its CPU share and has a memory limit.
    "CKV_K8S_11": "CPU limits should be set",
    # Pull policy Always makes every pod start depend on the registry; the chart runs an
    # immutable release tag, or a digest when image.digest is set.
    "CKV_K8S_15": "Image Pull Policy should be Always",
    # Secrets as files: the services read their settings from the environment
    # (pydantic-settings, like every other setting); the values come from secretKeyRef,
    # never from the pod spec, and are readable only by the pod's own UID.
    "CKV_K8S_35": "Prefer using secrets as files over secrets as environment variables",
    # Digests: the chart cannot know the digest of an image built after it; image.digest
    # pins one, and the everything-on scenario shows that this check then passes.
    "CKV_K8S_43": "Image should use digest",
}


@pytest.fixture(scope="session")
def checkov_report(
    rendered_scenarios: dict[str, Rendered], tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    if not CHECKOV.is_file():
        pytest.fail(
            f"checkov is missing at {CHECKOV}: run `make install` "
            "(it installs requirements-checkov.lock into .venv/checkov)",
            pytrace=False,
        )
    root = tmp_path_factory.mktemp("checkov")
    for name, rendered in rendered_scenarios.items():
        (root / name).mkdir()
        (root / name / "manifests.yaml").write_text(yaml.safe_dump_all(rendered.objects))
    done = subprocess.run(
        [
            *(str(CHECKOV), "--directory", str(root), "--framework", "kubernetes"),
            *("--output", "json", "--skip-download"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        # Offline: no guideline mapping, no version check.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_NO_VERSION_CHECK": "1"},
        cwd=root,
    )
    assert done.returncode in (0, 1), done.stderr  # 1: some check failed
    report: dict[str, Any] = json.loads(done.stdout)
    assert report["check_type"] == "kubernetes"
    assert report["summary"]["parsing_errors"] == 0
    return report


def scenario_of(result: dict[str, Any]) -> str:
    return Path(result["file_path"]).parts[1]


def test_checkov_finds_nothing_unjustified(checkov_report: dict[str, Any]) -> None:
    failed = checkov_report["results"]["failed_checks"]
    unjustified = [
        f"{scenario_of(f)}: {f['check_id']} {f['check_name']} ({f['resource']})"
        for f in failed
        if f["check_id"] not in JUSTIFIED
    ]
    assert not unjustified, "\n".join(unjustified)


def test_checkov_examined_every_workload_of_every_scenario(
    checkov_report: dict[str, Any], rendered_scenarios: dict[str, Rendered]
) -> None:
    results = checkov_report["results"]
    examined = {
        (scenario_of(r), r["resource"]) for r in results["passed_checks"] + results["failed_checks"]
    }
    expected = {
        (name, f"{o['kind']}.{o['metadata']['namespace']}.{o['metadata']['name']}")
        for name, rendered in rendered_scenarios.items()
        for o in workloads(rendered)
    }
    assert expected <= examined, expected - examined


def test_justified_checks_are_the_ones_named(checkov_report: dict[str, Any]) -> None:
    """A justification must still apply, and name the check it excuses."""
    failed = Counter(f["check_id"] for f in checkov_report["results"]["failed_checks"])
    for check_id, name in JUSTIFIED.items():
        assert failed[check_id], f"{check_id} passes now: drop its justification"
        names = {
            f["check_name"]
            for f in checkov_report["results"]["failed_checks"]
            if f["check_id"] == check_id
        }
        assert names == {name}
