"""What shows that each release handled the other's work: the senders' own counters.

Before and after each step of the roll, every sender's ``/metrics`` is read: messages it
delivered (``mailpass_sender_deliveries_total{outcome="sent"}``) and jobs it finished or
refused, by queue (``mailpass_sender_jobs_total``). Between two steps the versions in the
stack do not change, so a sender's increase over that stretch is work it did while only
the listed releases were writing: a new sender finishing immediate jobs while the gateway
is still the previous release read that release's jobs and documents, and so on. A
sender's counters start again at 0 when it is replaced; the stretches never span one.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from mailpass_dev.stack import Stack

OLD, NEW = "previous", "current"


def sender_counts(exposition: str) -> Counter[str]:
    """``sent``, ``immediate`` and ``batch`` (jobs done) and ``rejected`` from a scrape."""
    counts: Counter[str] = Counter()
    for family in text_string_to_metric_families(exposition):
        for sample in family.samples:
            labels = sample.labels
            if sample.name == "mailpass_sender_deliveries_total" and labels["outcome"] == "sent":
                counts["sent"] += int(sample.value)
            elif sample.name == "mailpass_sender_jobs_total":
                result = labels.get("result")
                key = labels.get("queue", "") if result == "done" else str(result)
                counts[key] += int(sample.value)
            elif (
                sample.name == "mailpass_webhook_deliveries_total"
                and labels.get("outcome") == "succeeded"
            ):
                counts["webhooks"] += int(sample.value)
    return counts


async def scrape_senders(stack: Stack) -> dict[str, Counter[str]]:
    """The senders' counters, and the webhooks processes' deliveries."""
    senders = [s for s in stack.managed() if s.name.startswith(("sender-", "webhooks-"))]
    async with httpx.AsyncClient(timeout=10) as client:

        async def one(name: str, port: int | None) -> tuple[str, Counter[str]]:
            try:
                response = await client.get(f"http://127.0.0.1:{port}/metrics")
                return name, sender_counts(response.text)
            except httpx.HTTPError:
                return name, Counter()

        return dict(await asyncio.gather(*(one(s.name, s.management_port) for s in senders)))


@dataclass
class Stretch:
    """The time between two steps: who ran which release, and what each sender did."""

    versions: dict[str, str]
    start: dict[str, Counter[str]]
    done: dict[str, Counter[str]] = field(default_factory=dict)

    def work(self, sender: str) -> Counter[str]:
        return self.done.get(sender, Counter()) - self.start.get(sender, Counter())

    def as_json(self) -> dict[str, Any]:
        senders = sorted(set(self.start) | set(self.done))
        return {"versions": self.versions, "work": {s: dict(self.work(s)) for s in senders}}


def cross_checks(stretches: list[Stretch]) -> dict[str, bool]:
    """Each direction of each format, seen handled by the other release at least once."""

    def seen(writer: str, writer_version: str, queue: str) -> bool:
        for stretch in stretches:
            if stretch.versions.get(writer) != writer_version:
                continue
            reader_version = NEW if writer_version == OLD else OLD
            versions = stretch.versions.items()
            readers = [s for s, v in versions if s.startswith("sender-") and v == reader_version]
            if any(stretch.work(sender)[queue] > 0 for sender in readers):
                return True
        return False

    def relayed(relay_version: str) -> bool:
        """A webhooks process of one release delivered events while a sender of the other
        was delivering messages, i.e. writing their events into the outbox."""
        writer_version = NEW if relay_version == OLD else OLD
        for stretch in stretches:
            named = stretch.versions.items()
            relays = [n for n, v in named if n.startswith("webhooks-") and v == relay_version]
            writers = [n for n, v in named if n.startswith("sender-") and v == writer_version]
            if any(stretch.work(n)["webhooks"] > 0 for n in relays) and any(
                stretch.work(n)["sent"] > 0 for n in writers
            ):
                return True
        return False

    checks = {
        "a current sender finished jobs of a previous gateway (immediate)": seen(
            "gateway", OLD, "immediate"
        ),
        "a previous sender finished jobs of a current gateway (immediate)": seen(
            "gateway", NEW, "immediate"
        ),
        "a current sender finished jobs of a previous scheduler (batch)": seen(
            "scheduler", OLD, "batch"
        ),
        "a previous sender finished jobs of a current scheduler (batch)": seen(
            "scheduler", NEW, "batch"
        ),
    }
    if any(name.startswith("webhooks-") for s in stretches for name in s.versions):
        checks["a previous webhooks relay delivered events of current senders"] = relayed(OLD)
        checks["a current webhooks relay delivered events of previous senders"] = relayed(NEW)
    return checks


def rejected(stretches: list[Stretch]) -> int:
    """Jobs any sender refused (a format it could not read) over the whole run."""
    return sum(max(0, s.work(name)["rejected"]) for s in stretches for name in s.done)
