"""The bench's readers of what its tools print, on output captured from the real tools."""

from __future__ import annotations

from collections import Counter

import pytest

from mailpass_dev.bench.options import parse_options
from mailpass_dev.bench.probes import (
    DbCounters,
    cpu_ms_per_request,
    db_figures,
    parse_command_counts,
    round_trips,
)
from mailpass_dev.bench.scaleout import render, summarize
from mailpass_dev.bench.sink import SinkCounters, parse_counters, subjects_in_dump
from mailpass_dev.bench.wrk import parse_wrk_output

# smtp-sink -c after smtp-source -s 1 -m 2: records separated by carriage returns.
SINK_OUTPUT = (
    b"sess=0 quit=0 mesg=1\rsess=1 quit=1 mesg=1\rsess=1 quit=1 mesg=2\rsess=2 quit=2 mesg=2\r"
)

# smtp-sink -D: two transactions with the same subject (a message delivered twice).
SINK_DUMP = b"""X-Client-Addr: 127.0.0.1
X-Client-Proto: SMTP
X-Helo-Args: vm
X-Mail-Args: <bench@mailpass.local>
X-Rcpt-Args: <rcpt@example.com>
Received: from vm ([127.0.0.1])
\tby smtp-sink (smtp-sink) with SMTP id 44f7a5e2;
\tTue, 24 Nov 2026 15:28:27 +0000 (UTC)
From: <bench@mailpass.local>
Subject: mpbench-ab12cd-0000001

XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX

X-Client-Addr: 127.0.0.1
X-Client-Proto: ESMTP
Subject: mpbench-ab12cd-0000002
X-Mailer: none

X-Client-Addr: 127.0.0.1
Subject: mpbench-ab12cd-0000001

body
Subject: mailpass reference
"""

WRK_OUTPUT = """Running 10s test @ http://127.0.0.1:8000
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency    95.31ms   20.55ms 301.22ms   80.12%
  4870 requests in 10.01s, 1.60MB read
Requests/sec:    486.53
Transfer/sec:    163.33KB
mailpass-bench-wrk {"requests": 4870, "duration_us": 10010000, "p50_us": 91250, \
"p99_us": 201500, "max_us": 301220, "errors": {"connect": 0, "read": 0, "write": 0, \
"timeout": 2}, "statuses": {"200": 4860, "202": 10}}
"""

EXPOSITION = """# HELP mailpass_mongodb_commands_total Commands sent to MongoDB, by command name.
# TYPE mailpass_mongodb_commands_total counter
mailpass_mongodb_commands_total{command="find"} 12.0
mailpass_mongodb_commands_total{command="insert"} 3.0
# HELP mailpass_mongodb_commands_created Commands sent to MongoDB, by command name.
# TYPE mailpass_mongodb_commands_created gauge
mailpass_mongodb_commands_created{command="find"} 1.7e+09
# HELP mailpass_messages_accepted_total Messages accepted.
# TYPE mailpass_messages_accepted_total counter
mailpass_messages_accepted_total{kind="batch"} 300.0
"""


def test_sink_counters_are_the_last_complete_record() -> None:
    assert parse_counters(SINK_OUTPUT) == SinkCounters(sessions=2, quits=2, messages=2)
    assert parse_counters(SINK_OUTPUT[:21]) == SinkCounters(0, 0, 1)
    assert parse_counters(b"") is None


def test_dump_subjects_count_each_message_of_the_run() -> None:
    subjects = subjects_in_dump(SINK_DUMP, "mpbench-ab12cd-")
    assert subjects == Counter({"mpbench-ab12cd-0000001": 2, "mpbench-ab12cd-0000002": 1})


def test_wrk_result_line_is_parsed() -> None:
    result = parse_wrk_output(WRK_OUTPUT, connections=50, cpu_seconds=0.5)
    assert result.requests == 4870
    assert result.seconds == pytest.approx(10.01)
    assert result.rps == pytest.approx(4870 / 10.01)
    assert (result.p50_ms, result.p99_ms, result.max_ms) == (91.25, 201.5, 301.22)
    assert result.statuses == {200: 4860, 202: 10}
    # 10 answers of 202 and 2 requests that got no answer at all.
    assert result.not_ok == 12
    assert result.cpu_percent == pytest.approx(100 * 0.5 / 10.01)


def test_wrk_output_without_a_result_line_is_an_error() -> None:
    with pytest.raises(ValueError, match="no result line"):
        parse_wrk_output("unable to connect to 127.0.0.1:8000 Connection refused\n", 1)


def test_command_counters_are_read_from_the_exposition() -> None:
    assert parse_command_counts(EXPOSITION) == Counter({"find": 12, "insert": 3})


def test_round_trips_are_the_increase_summed_over_services() -> None:
    before = {"gateway": Counter({"find": 10}), "sender-1": Counter({"update": 5})}
    after = {
        "gateway": Counter({"find": 12, "insert": 1}),
        "sender-1": Counter({"update": 9}),
        "scheduler": Counter({"find": 3}),
    }
    trips = round_trips(before, after)
    assert trips.total == 10
    assert trips.by_command == {"find": 5, "update": 4, "insert": 1}
    assert trips.by_service == {"gateway": 3, "sender-1": 4, "scheduler": 3}
    assert trips.per_message(20) == 0.5
    assert trips.per_message(0) is None


def _exposition(commands: dict[str, int], documents: dict[str, int], keys: dict[str, float]) -> str:
    lines = ["# TYPE mailpass_mongodb_commands_total counter"]
    lines += [f'mailpass_mongodb_commands_total{{command="{c}"}} {n}' for c, n in commands.items()]
    lines.append("# TYPE mailpass_mongodb_documents_written_total counter")
    lines += [
        f'mailpass_mongodb_documents_written_total{{collection="{c}"}} {n}'
        for c, n in documents.items()
    ]
    lines.append("# TYPE mailpass_mongodb_index_keys_written_total counter")
    lines += [
        f'mailpass_mongodb_index_keys_written_total{{collection="{c}"}} {n}'
        for c, n in keys.items()
    ]
    return "\n".join(lines) + "\n"


def test_writes_per_message_are_the_increase_by_collection_summed_over_services() -> None:
    before = DbCounters.parse(
        {
            "gateway": _exposition({"insert": 1}, {"messages": 10}, {"messages": 50.0}),
            "sender-1": _exposition({"update": 2}, {}, {}),
        }
    )
    after = DbCounters.parse(
        {
            "gateway": _exposition({"insert": 3}, {"messages": 30}, {"messages": 150.0}),
            "sender-1": _exposition(
                {"update": 6}, {"messages": 40, "events": 2}, {"messages": 60.5, "events": 4.0}
            ),
        }
    )
    figures = db_figures(before, after, 20)
    assert figures["round_trips"] == 6
    assert figures["documents_written"] == 62  # 20 inserted, 40 updated, 2 events
    assert figures["documents_written_per_message"] == pytest.approx(3.1)
    assert figures["documents_written_per_message_by_collection"] == {
        "events": 0.1,
        "messages": 3.0,
    }
    assert figures["index_keys_per_message"] == pytest.approx((100 + 60.5 + 4) / 20)
    assert figures["index_keys_per_message_by_collection"]["messages"] == pytest.approx(8.025)
    nothing = db_figures(before, after, 0)
    assert nothing["index_keys_per_message"] is None
    assert nothing["index_keys_per_message_by_collection"] == {}


def test_cpu_per_request_sums_the_senders_and_skips_what_is_not_reported() -> None:
    cpu = {"gateway": 1.2, "sender-1": 0.4, "sender-2": 0.2, "smtp": 0.1, "nx-27017": 2.0}
    per_request = cpu_ms_per_request(cpu, 400)
    assert per_request == {"gateway": 3.0, "sender": 1.5, "nx-27017": 5.0}
    assert cpu_ms_per_request(cpu, 0) == {}


def test_quick_sets_small_defaults_that_flags_override() -> None:
    quick = parse_options(["--quick", "--messages", "500", "--env", "SENDER_PREFETCH=64"])
    assert (quick.messages, quick.preload, quick.runs) == (500, 2000, 1)
    assert quick.env == {"SENDER_PREFETCH": "64"}
    full = parse_options(["--clients", "1,10,50", "--senders", "2"])
    assert (full.messages, full.preload, full.runs) == (10_000, 100_000, 3)
    assert full.clients == (1, 10, 50)
    assert full.senders == 2 and full.scale_out == () and full.gateways == 1


def test_a_list_of_sender_counts_or_several_gateways_is_the_scale_out_bench() -> None:
    sweep = parse_options(["--quick", "--senders", "1,2,4"])
    assert sweep.scale_out == (1, 2, 4) and sweep.gateways == 1
    assert sweep.messages == 2000  # a few seconds of sending a run, not the quick 300
    gateways = parse_options(["--senders", "2", "--gateways", "3", "--messages", "700"])
    assert (gateways.scale_out, gateways.gateways, gateways.messages) == ((2,), 3, 700)


def test_the_scale_out_row_gives_the_rate_per_sender_and_the_spread() -> None:
    runs = [
        {
            "rate": rate,
            "lost": 0,
            "duplicates": 0,
            "round_trips_per_message": 2.0,
            "sent_by_sender": by_sender,
            "cpu_seconds_by_process": {"sender-1": 2.0, "sender-2": 1.0, "nx-27017": 3.0},
        }
        for rate, by_sender in [(800.0, {"sender-1": 600, "sender-2": 400}), (900.0, {})]
    ]
    row = summarize(2, 1, runs[:1])
    assert (row["rate"], row["rate_per_sender"]) == (800.0, 400.0)
    assert row["sent_by_sender"] == {"sender-1": 600, "sender-2": 400}
    assert row["spread_max_over_min"] == 1.5
    assert row["cpu_seconds_per_run"] == {"nx-27017": 3.0, "sender": 3.0}
    table = render([row], 2000, 1)
    assert "600 / 400" in table and "| 400 " in table


def test_send_only_runs_the_send_phase_alone() -> None:
    options = parse_options(["--send-only", "--clients", "1,50"])
    assert options.send_only and not options.batch_only and options.clients == (1, 50)
    assert not parse_options([]).send_only


def test_bad_options_are_refused() -> None:
    for argv in (
        ["--send-only", "--batch-only"],
        ["--clients", "0"],
        ["--clients", "a,b"],
        ["--env", "NOVALUE"],
        ["--senders", "1,0"],
    ):
        with pytest.raises(SystemExit):
            parse_options(argv)
