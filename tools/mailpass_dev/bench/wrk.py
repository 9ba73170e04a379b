"""``/send`` under load with wrk: a closed loop of N connections posting the same body.

wrk is C with a LuaJIT hook per response, so one thread drives hundreds of requests a
second for a few percent of a core; its own CPU use is measured and reported, so a
reader can check the load generator was not the bottleneck. The script reads the body
and the API key from the environment (secrets never go on a command line), counts
responses by status, and prints one JSON line from ``done`` with latency percentiles
(microseconds, from wrk's histogram) and its error counters.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MARKER = "mailpass-bench-wrk "

LUA_SCRIPT = r"""
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local f = assert(io.open(os.getenv("MAILPASS_BENCH_BODY"), "rb"))
  local body = f:read("*a")
  f:close()
  local headers = {}
  headers["Content-Type"] = "application/json"
  headers["Authorization"] = "Bearer " .. os.getenv("MAILPASS_BENCH_KEY")
  prepared = wrk.format("POST", os.getenv("MAILPASS_BENCH_PATH"), headers, body)
  statuses = {}
end

function request()
  return prepared
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for code, n in pairs(thread:get("statuses")) do
      counts[code] = (counts[code] or 0) + n
    end
  end
  local parts = {}
  for code, n in pairs(counts) do
    table.insert(parts, string.format('"%d": %d', code, n))
  end
  local e = summary.errors
  io.write(string.format(
    'mailpass-bench-wrk {"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, '
      .. '"max_us": %d, "errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
      .. '"statuses": {%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    latency.max, e.connect, e.read, e.write, e.timeout, table.concat(parts, ", ")))
end
"""


@dataclass(frozen=True)
class WrkResult:
    connections: int
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]
    errors: dict[str, int]
    cpu_seconds: float = 0.0
    raw: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def ok(self) -> int:
        return self.statuses.get(200, 0)

    @property
    def not_ok(self) -> int:
        """Answers other than 200, and requests that got no answer at all."""
        return self.requests - self.ok + sum(self.errors.values())

    @property
    def cpu_percent(self) -> float:
        """wrk's CPU time over the run's wall time (100 = one core busy)."""
        return 100 * self.cpu_seconds / self.seconds if self.seconds else 0.0


def parse_wrk_output(text: str, connections: int, cpu_seconds: float = 0.0) -> WrkResult:
    """The result line the script's ``done`` printed; raises if wrk printed none."""
    for line in text.splitlines():
        if line.startswith(MARKER):
            data = json.loads(line[len(MARKER) :])
            return WrkResult(
                connections=connections,
                requests=int(data["requests"]),
                seconds=data["duration_us"] / 1e6,
                p50_ms=data["p50_us"] / 1000,
                p99_ms=data["p99_us"] / 1000,
                max_ms=data["max_us"] / 1000,
                statuses={int(code): int(n) for code, n in data["statuses"].items()},
                errors={name: int(n) for name, n in data["errors"].items()},
                cpu_seconds=cpu_seconds,
                raw=data,
            )
    raise ValueError(f"wrk printed no result line:\n{text.strip()}")


def run_wrk(
    *,
    url: str,
    path: str,
    api_key: str,
    body_file: Path,
    script_file: Path,
    connections: int,
    seconds: float,
) -> WrkResult:
    """One wrk run of ``seconds`` with ``connections`` clients (one wrk thread)."""
    script_file.write_text(LUA_SCRIPT)
    env = {
        **os.environ,
        "MAILPASS_BENCH_BODY": str(body_file),
        "MAILPASS_BENCH_KEY": api_key,
        "MAILPASS_BENCH_PATH": path,
    }
    argv = [
        "wrk",
        *("-t", "1", "-c", str(connections), "-d", f"{max(1, round(seconds))}s"),
        # /send answers within SEND_TIMEOUT_SECONDS (30 s): wait longer than that, so a
        # slow answer is measured instead of counted as a timeout.
        *("--timeout", "40s", "-s", str(script_file)),
        url,
    ]
    started = time.monotonic()
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    assert proc.stdout is not None
    output = proc.stdout.read().decode(errors="replace")
    # wait4 gives the child's own CPU time (user + system).
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise RuntimeError(
            f"wrk exited with {proc.returncode} after {time.monotonic() - started:.0f}s:\n{output}"
        )
    return parse_wrk_output(output, connections, usage.ru_utime + usage.ru_stime)
