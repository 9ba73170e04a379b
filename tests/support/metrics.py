"""Scraping a service's ``/metrics`` as Prometheus does, and reading the series it found."""

from __future__ import annotations

from dataclasses import dataclass

import httpx
from prometheus_client.parser import text_string_to_metric_families

SeriesKey = tuple[str, frozenset[tuple[str, str]]]


@dataclass(frozen=True)
class Scrape:
    """One scrape: every sample by its name and labels."""

    samples: dict[SeriesKey, float]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        samples: dict[SeriesKey, float] = {}
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
        return cls(samples)

    def value(self, name: str, **labels: str) -> float:
        """The sample's value; 0 for a series not exported yet (a labelled counter before
        its first increment), as Prometheus' ``increase()`` would treat it."""
        return self.samples.get((name, frozenset(labels.items())), 0.0)

    def has(self, name: str, **labels: str) -> bool:
        return (name, frozenset(labels.items())) in self.samples

    def series(self, name: str) -> list[dict[str, str]]:
        """The label sets of every series of ``name``."""
        return [dict(labels) for sample, labels in self.samples if sample == name]

    def increase(self, before: Scrape, name: str, **labels: str) -> float:
        return self.value(name, **labels) - before.value(name, **labels)


async def scrape(base_url: str) -> Scrape:
    """GET ``{base_url}/metrics`` (a management port) and parse the exposition."""
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.get(f"{base_url}/metrics")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return Scrape.parse(response.text)
