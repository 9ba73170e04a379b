"""``python -m mailpass_dev.bench`` (``make bench``): run, print the table, write the files.

Exit status: 0 when the bench ran (missed targets are reported, not fatal, unless
``--strict``: then 3); 1 when batch messages were lost or received twice; 2 when the stack
or a phase failed (the error names the log directory); 130 when interrupted (SIGINT or
SIGTERM), after stopping the stack.
"""

from __future__ import annotations

import asyncio
import signal
import sys
import time
from datetime import UTC, datetime
from typing import Any

from mailpass_dev.bench.chart import draw_chart
from mailpass_dev.bench.options import BenchOptions, parse_options
from mailpass_dev.bench.outputs import render_table, write_json
from mailpass_dev.bench.report import build_rows, medians
from mailpass_dev.bench.runner import BenchResult, run_bench
from mailpass_dev.bench.scaleout import render as render_scale_out
from mailpass_dev.bench.scaleout import run_scale_out

_STARTED = time.monotonic()


def log(message: str) -> None:
    print(f"[bench {time.monotonic() - _STARTED:7.1f}s] {message}", file=sys.stderr, flush=True)


def _document(result: BenchResult, rows: list[Any], started: datetime) -> dict[str, Any]:
    return {
        "started_at": started.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "options": result.options.as_json(),
        "machine": result.machine,
        "concurrency": result.concurrency,
        "preload": result.preload,
        "failure": result.failure,
        "figures": [row.as_json() for row in rows],
        "medians": medians(result.runs),
        "runs": result.runs,
        "peak_rss_mb": result.memory_mb,
        "log_dir": str(result.log_dir),
    }


def exit_status(result: BenchResult, rows: list[Any], options: BenchOptions) -> int:
    if result.failure:
        return 2
    by_key = {row.key: row for row in rows}
    if any(by_key[k].status == "FAIL" for k in ("batch_lost", "batch_duplicates")):
        return 1
    if options.strict and any(row.status == "FAIL" for row in rows):
        return 3
    return 0


def scale_out(options: BenchOptions) -> int:
    """``--senders 1,2,4`` / ``--gateways N``: the table, ``bench-scaleout.json``; 1 when
    messages were lost or received twice, 2 when a stack failed."""
    document = asyncio.run(run_scale_out(options, log))
    print(render_scale_out(document["rows"], options.messages, options.runs))
    path = options.out / "bench-scaleout.json"
    write_json(path, {"options": options.as_json(), **document})
    print(f"\nwrote {path}")
    if document["failure"]:
        print(f"bench failed: {document['failure']}", file=sys.stderr)
        return 2
    return 1 if any(r["lost"] or r["duplicates"] for r in document["rows"]) else 0


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    # SIGTERM (a `timeout`, a CI cancel) unwinds like Ctrl-C, so the stack is stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    options.out.mkdir(parents=True, exist_ok=True)
    if options.scale_out:
        try:
            return scale_out(options)
        except KeyboardInterrupt:
            print("bench interrupted; the stack was stopped", file=sys.stderr)
            return 130
    started = datetime.now(UTC)
    try:
        result = asyncio.run(run_bench(options, log))
    except KeyboardInterrupt:
        print("bench interrupted; the stack was stopped", file=sys.stderr)
        return 130
    rows = build_rows(
        result.runs,
        result.memory_mb,
        clients=options.clients,
        preload=options.preload,
        sessions=result.concurrency.get("smtp_source_sessions"),
    )
    print(render_table(rows))
    json_path, png_path = options.out / "bench.json", options.out / "bench.png"
    write_json(json_path, _document(result, rows, started))
    git = result.machine.get("git", {})
    title = (
        f"MailPass bench {started:%Y-%m-%d %H:%M} UTC, {git.get('commit', '?')[:10]}, "
        f"{options.messages:,} msgs x {options.runs} runs, {options.senders} sender(s)"
    )
    draw_chart(png_path, rows, options.clients, title)
    passed = sum(row.status == "PASS" for row in rows)
    failed = sum(row.status == "FAIL" for row in rows)
    print(f"\ntargets: {passed} PASS, {failed} FAIL; wrote {json_path} and {png_path}")
    if result.failure:
        print(f"bench failed: {result.failure}", file=sys.stderr)
    return exit_status(result, rows, options)


if __name__ == "__main__":
    sys.exit(main())
