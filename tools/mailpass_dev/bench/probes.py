"""What the bench reads off the running stack: MongoDB round trips and writes, CPU, and
peak memory.

Round trips: every service counts its MongoDB commands in
``mailpass_mongodb_commands_total{command}`` on its management port. A phase scrapes
every service before and after; the increase summed over services, divided by the
messages delivered in the phase, is its round trips per message. Writes, the same way:
``mailpass_mongodb_documents_written_total{collection}`` (documents its write commands
wrote) and ``mailpass_mongodb_index_keys_written_total{collection}`` (the index keys they
inserted and deleted, estimated from the declared indexes: see
:mod:`mailpass_common.platform.index_keys`).

CPU: the user + system time each part of the stack used during a phase (RabbitMQ's is
the whole broker's), to show where a phase's time goes.

Memory: a thread reads ``VmHWM`` (the peak resident set, kept by the kernel) of every
process of every service, workers included, plus nx-27017 and RabbitMQ for information.
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mailpass_dev.stack import Stack

COMMANDS_METRIC = "mailpass_mongodb_commands_total"
DOCUMENTS_METRIC = "mailpass_mongodb_documents_written_total"
INDEX_KEYS_METRIC = "mailpass_mongodb_index_keys_written_total"

# service name -> command (or collection) -> count
CommandCounts = dict[str, Counter[str]]


def parse_counts(exposition: str, metric: str, label: str) -> Counter[str]:
    """A counter's values by one label from a Prometheus text exposition."""
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            if sample.name == metric:
                counts[sample.labels.get(label, "")] += sample.value  # type: ignore[assignment]
    return counts


def parse_command_counts(exposition: str) -> Counter[str]:
    """``mailpass_mongodb_commands_total`` by command from a Prometheus text exposition."""
    return Counter(
        {k: int(v) for k, v in parse_counts(exposition, COMMANDS_METRIC, "command").items()}
    )


@dataclass(frozen=True)
class DbCounters:
    """One scrape of every service: commands by name, documents and index keys written by
    collection."""

    commands: CommandCounts
    documents: CommandCounts
    index_keys: CommandCounts

    @classmethod
    def parse(cls, expositions: dict[str, str]) -> DbCounters:
        return cls(
            {s: parse_command_counts(text) for s, text in expositions.items()},
            {
                s: parse_counts(text, DOCUMENTS_METRIC, "collection")
                for s, text in expositions.items()
            },
            {
                s: parse_counts(text, INDEX_KEYS_METRIC, "collection")
                for s, text in expositions.items()
            },
        )


async def scrape_db_counters(stack: Stack) -> DbCounters:
    async with httpx.AsyncClient(timeout=10) as client:

        async def one(name: str, port: int) -> tuple[str, str]:
            response = await client.get(f"http://127.0.0.1:{port}/metrics")
            response.raise_for_status()
            return name, response.text

        pairs = await asyncio.gather(
            *(one(s.name, s.management_port) for s in stack.managed() if s.management_port)
        )
    return DbCounters.parse(dict(pairs))


@dataclass(frozen=True)
class RoundTrips:
    total: int
    by_command: dict[str, int]
    by_service: dict[str, int]

    def per_message(self, messages: int) -> float | None:
        return self.total / messages if messages else None


def round_trips(before: CommandCounts, after: CommandCounts) -> RoundTrips:
    by_command: Counter[str] = Counter()
    by_service: dict[str, int] = {}
    for service, counts in after.items():
        delta = counts - before.get(service, Counter())
        by_command.update(delta)
        by_service[service] = sum(delta.values())
    return RoundTrips(sum(by_command.values()), dict(by_command.most_common()), by_service)


def _increase_by_label(before: CommandCounts, after: CommandCounts) -> dict[str, float]:
    total: Counter[str] = Counter()
    for service, counts in after.items():
        total.update(counts - before.get(service, Counter()))
    return {label: round(value, 3) for label, value in sorted(total.items())}


def db_figures(before: DbCounters, after: DbCounters, delivered: int) -> dict[str, Any]:
    """Round trips, documents written and index keys written over a phase, in all and per
    message delivered (by collection for the writes)."""
    trips = round_trips(before.commands, after.commands)
    documents = _increase_by_label(before.documents, after.documents)
    keys = _increase_by_label(before.index_keys, after.index_keys)

    def per_message(values: dict[str, float]) -> dict[str, float]:
        return {c: round(v / delivered, 3) for c, v in values.items()} if delivered else {}

    return {
        "round_trips": trips.total,
        "round_trips_per_message": trips.per_message(delivered),
        "round_trips_by_command": trips.by_command,
        "round_trips_by_service": trips.by_service,
        "documents_written": sum(documents.values()),
        "documents_written_per_message": sum(documents.values()) / delivered if delivered else None,
        "documents_written_per_message_by_collection": per_message(documents),
        "index_keys_written": sum(keys.values()),
        "index_keys_per_message": sum(keys.values()) / delivered if delivered else None,
        "index_keys_per_message_by_collection": per_message(keys),
    }


# --- memory ---------------------------------------------------------------------------


def read_status_kb(pid: int, field: str) -> int | None:
    """A ``kB`` field of ``/proc/<pid>/status`` (VmHWM, VmRSS), or None if it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1])
    return None


def session_members(session_id: int) -> list[int]:
    """The pids of a session (a service and the workers it forked)."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces): state ppid pgrp session.
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[3]) == session_id:
            members.append(int(entry.name))
    return members


def rabbitmq_server_pids() -> list[int]:
    """The RabbitMQ server's Erlang VM (not the short-lived VMs of ``rabbitmqctl`` calls)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "beam.smp":
                continue
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(args[i : i + 3] == [b"-s", b"rabbit", b"boot"] for i in range(len(args))):
            found.append(int(entry.name))
    return found


def process_groups(stack: Stack) -> Iterable[tuple[str, int | None, list[int]]]:
    """(name, the service's own pid, every pid of it) for the stack and its infrastructure."""
    for service in stack.services.values():
        if service.pid is not None:
            yield service.name, service.pid, session_members(service.pid)
    mongodb = stack.mongodb
    if mongodb is not None and mongodb.pid is not None:
        yield "nx-27017", mongodb.pid, session_members(mongodb.pid)
    beams = sorted(rabbitmq_server_pids())
    yield "rabbitmq", beams[0] if beams else None, beams


def cpu_seconds(stack: Stack) -> dict[str, float]:
    """CPU time (user + system) used so far by each part of the stack, workers included."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[str, float] = {}
    for name, _, pids in process_groups(stack):
        total = 0
        for pid in pids:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        used[name] = total / ticks
    return used


def cpu_increase(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {name: round(after[name] - before.get(name, 0.0), 2) for name in after}


# The processes a /send's CPU is reported for (the senders summed as "sender").
CPU_PER_REQUEST_PROCESSES = ("gateway", "sender", "scheduler", "nx-27017", "rabbitmq")


def cpu_ms_per_request(cpu: dict[str, float], requests: int) -> dict[str, float]:
    """CPU milliseconds per request in each process (``cpu``: seconds over the run)."""
    if not requests:
        return {}
    summed: Counter[str] = Counter()
    for name, seconds in cpu.items():
        summed["sender" if name.startswith("sender-") else name] += seconds  # type: ignore[assignment]
    return {
        name: round(1000 * summed[name] / requests, 3)
        for name in CPU_PER_REQUEST_PROCESSES
        if name in summed
    }


class PeakMemory:
    """Polls the peak resident memory of each process of the stack until stopped."""

    def __init__(self, stack: Stack, interval: float = 1.0) -> None:
        self._stack = stack
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="peak-memory", daemon=True)
        # label ("gateway", "gateway/1234" for a worker) -> peak kB
        self.peak_kb: dict[str, int] = {}

    def sample(self) -> None:
        for name, leader, pids in process_groups(self._stack):
            for pid in pids:
                peak = read_status_kb(pid, "VmHWM")
                if peak is None:
                    continue
                label = name if pid == leader else f"{name}/{pid}"
                self.peak_kb[label] = max(self.peak_kb.get(label, 0), peak)

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def start(self) -> None:
        self.sample()
        self._thread.start()

    def stop(self) -> dict[str, float]:
        """Stop polling; the peak of each process in MB."""
        self._stop.set()
        self._thread.join()
        self.sample()
        return {label: kb / 1024 for label, kb in sorted(self.peak_kb.items())}
