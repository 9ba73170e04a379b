"""The bench's figures and verdicts, on made-up runs (no timing is measured here)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mailpass_dev.bench.__main__ import exit_status
from mailpass_dev.bench.options import parse_options
from mailpass_dev.bench.outputs import render_table
from mailpass_dev.bench.report import Row, Target, build_rows, medians
from mailpass_dev.bench.runner import BenchResult
from mailpass_dev.bench.stats import median, percentile


def batch(rate: float, trips: float, lost: int = 0, duplicates: int = 0) -> dict[str, Any]:
    return {
        "rate": rate,
        "round_trips_per_message": trips,
        "lost": lost,
        "duplicates": duplicates,
        "timed_out": False,
        "round_trips_by_command": {"find": 1},
    }


def send(p50: float, p99: float, rps: float, not_200: int = 0) -> dict[str, Any]:
    return {
        "p50_ms": p50,
        "p99_ms": p99,
        "rps": rps,
        "not_200": not_200,
        "round_trips_per_message": 3.0,
        "documents_written_per_message": 1.0,
        "index_keys_per_message": 10.0,
        "wrk_cpu_percent": 4.0,
        "cpu_ms_per_request_gateway": 1.0 + p50 / 100,
        "cpu_ms_per_request_nx-27017": 2.0,
    }


def direct(p50: float) -> dict[str, Any]:
    return {"p50_ms": p50, "p99_ms": 2 * p50, "rate": 5000.0}


RUNS: dict[str, list[dict[str, Any]]] = {
    "reference": [{"rate": 4000.0}, {"rate": 5000.0}, {"rate": 4500.0}],
    "batch_empty": [batch(1500, 0.1), batch(2000, 0.3), batch(1800, 0.15)],
    "batch_preloaded": [batch(1500, 0.1), batch(1400, 0.1), batch(1300, 0.1)],
    "send_c1": [send(5.0, 9.0, 150), send(6.0, 9.5, 160), send(5.5, 12.0, 155)],
    "direct_c1": [direct(0.4), direct(0.5), direct(0.6)],
    "send_c50": [send(80, 240, 450), send(90, 260, 410), send(85, 300, 390, not_200=1)],
    "direct_c50": [direct(10), direct(11), direct(12)],
    "celery": [{"rate": r, "processes": 8, "lost": 0} for r in (1000.0, 1100.0, 1200.0)],
}
MEMORY = {"gateway": 90.0, "gateway/4242": 151.0, "sender-1": 120.0, "nx-27017": 400.0}


def rows_by_key() -> dict[str, Row]:
    rows = build_rows(RUNS, MEMORY, clients=(1, 50), preload=100_000, sessions=8)
    return {row.key: row for row in rows}


def test_median_and_percentile() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0]) == 2.5
    assert median([]) is None
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 50) == 3.0
    assert percentile([0.0, 10.0], 99) == pytest.approx(9.9)
    assert percentile([], 50) is None


def test_every_numeric_figure_is_the_median_of_its_runs() -> None:
    m = medians(RUNS)
    assert m["batch_empty"]["rate"] == 1800
    assert m["batch_empty"]["round_trips_per_message"] == 0.15
    assert "timed_out" not in m["batch_empty"]  # a flag, not a figure
    assert "round_trips_by_command" not in m["batch_empty"]


def test_targets_pass_and_fail_on_the_medians() -> None:
    rows = rows_by_key()
    assert rows["batch_empty_rate"].status == "PASS"  # 1800 >= 1000
    assert rows["batch_vs_reference"].value == pytest.approx(40.0)  # 1800 / 4500
    assert rows["batch_vs_reference"].status == "PASS"
    assert rows["preloaded_vs_empty"].value == pytest.approx(100 * 1400 / 1800)
    assert rows["preloaded_vs_empty"].status == "FAIL"  # 77.8 % < 80 %
    assert rows["send_c1_p50_over_direct"].value == pytest.approx(5.0)
    assert rows["send_c1_p50_over_direct"].status == "PASS"
    assert rows["send_c50_rps"].status == "PASS"  # median 410
    assert rows["send_c50_p99"].status == "FAIL"  # median 260 ms
    assert rows["send_c1_p99"].target is None  # only the 50-client p99 has a target
    assert rows["send_c50_not_200"].value == 1  # summed over runs, not a median
    assert rows["send_c50_not_200"].status == "FAIL"
    assert rows["batch_empty_round_trips"].status == "PASS"
    assert rows["send_c50_round_trips"].status == "PASS"


def test_the_celery_peer_is_printed_beside_the_batch_with_the_ratio() -> None:
    rows = rows_by_key()
    assert rows["celery_rate"].value == 1100  # the median of its runs
    assert "x8" in rows["celery_rate"].label
    assert rows["batch_empty_vs_celery"].value == pytest.approx(1800 / 1100)
    assert rows["batch_preloaded_vs_celery"].value == pytest.approx(1400 / 1100)
    assert rows["batch_preloaded_vs_celery"].status == "FAIL"  # 1.27x < 1.3x
    line = next(t for t in render_table(list(rows.values())).splitlines() if "preloaded / Ce" in t)
    assert "1.27x" in line and ">= 1.30x" in line


def test_without_the_celery_peer_its_rows_are_not_judged() -> None:
    assert parse_options([]).celery is True
    assert parse_options(["--quick", "--no-celery"]).celery is False
    runs = {k: v for k, v in RUNS.items() if k != "celery"}
    rows = {r.key: r for r in build_rows(runs, {}, clients=(1,), preload=0, sessions=8)}
    assert rows["celery_rate"].value is None
    assert rows["batch_preloaded_vs_celery"].status == "n/a"


def test_memory_targets_apply_to_each_mailpass_process_only() -> None:
    rows = rows_by_key()
    assert rows["peak_rss_gateway"].status == "PASS"
    assert rows["peak_rss_gateway/4242"].status == "FAIL"  # a gateway worker
    assert rows["peak_rss_nx-27017"].target is None


def test_a_missing_phase_is_reported_not_judged() -> None:
    runs = {k: v for k, v in RUNS.items() if k != "batch_preloaded"}
    rows = {r.key: r for r in build_rows(runs, {}, clients=(1, 50), preload=0, sessions=8)}
    assert rows["batch_preloaded_rate"].value is None
    assert rows["preloaded_vs_empty"].status == "n/a"


def test_writes_and_cpu_per_send_are_reported_beside_round_trips() -> None:
    rows = rows_by_key()
    keys = list(rows)
    for phase in ("batch_empty", "batch_preloaded", "batch_mta", "smtp", "send_c1", "send_c50"):
        at = keys.index(f"{phase}_round_trips")
        assert keys[at + 1 : at + 3] == [f"{phase}_documents_written", f"{phase}_index_keys"]
    assert rows["send_c50_documents_written"].value == 1.0
    assert rows["send_c50_index_keys"].value == 10.0
    assert rows["batch_empty_index_keys"].value is None  # not in these runs
    assert rows["send_c1_cpu_ms_gateway"].value == pytest.approx(1.055)  # median p50 5.5
    assert rows["send_c1_cpu_ms_gateway"].status == "PASS"  # < 1.5 ms
    assert rows["send_c50_cpu_ms_gateway"].value == pytest.approx(1.85)
    assert rows["send_c50_cpu_ms_gateway"].status == "FAIL"
    assert rows["send_c50_cpu_ms_nx-27017"].target is None
    assert rows["send_c50_cpu_ms_sender"].value is None
    line = next(
        t
        for t in render_table(list(rows.values())).splitlines()
        if "x50: CPU per request, gateway" in t
    )
    assert "1.9 ms" in line and "< 1.5 ms" in line and line.rstrip().endswith("FAIL")


def test_target_comparisons() -> None:
    assert Target(">=", 35).met(35)
    assert not Target("<", 150).met(150)
    assert Target("<=", 0).met(0)


def test_table_has_one_line_per_figure_with_its_verdict() -> None:
    rows = build_rows(RUNS, MEMORY, clients=(1, 50), preload=100_000, sessions=8)
    table = render_table(rows).splitlines()
    assert len(table) == len(rows) + 2
    line = next(t for t in table if t.startswith("batch, empty database"))
    assert "1,800 msg/s" in line
    assert ">= 1,000 msg/s" in line
    assert line.rstrip().endswith("PASS")


def result_with(runs: dict[str, list[dict[str, Any]]], failure: str | None = None) -> BenchResult:
    result = BenchResult(parse_options([]), Path("."), runs=runs, failure=failure)
    return result


@pytest.mark.parametrize(
    ("lost", "duplicates", "failure", "strict", "expected"),
    [
        (0, 0, None, False, 0),  # missed targets are reported only
        (0, 0, None, True, 3),
        (5, 0, None, False, 1),
        (0, 2, None, False, 1),
        (0, 0, "StackError: sender-1 died", False, 2),
    ],
)
def test_exit_status(
    lost: int, duplicates: int, failure: str | None, strict: bool, expected: int
) -> None:
    runs = {**RUNS, "batch_empty": [batch(1800, 0.1, lost=lost, duplicates=duplicates)]}
    result = result_with(runs, failure)
    rows = build_rows(runs, MEMORY, clients=(1, 50), preload=100_000, sessions=8)
    options = parse_options(["--strict"] if strict else [])
    assert exit_status(result, rows, options) == expected
