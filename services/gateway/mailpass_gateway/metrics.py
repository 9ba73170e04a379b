from __future__ import annotations

from prometheus_client import Counter, Histogram

REQUESTS = Counter(
    "mailpass_gateway_requests_total",
    "HTTP requests by route template, method and status code.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "mailpass_gateway_request_seconds",
    "HTTP request latency by route template.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MESSAGES_ACCEPTED = Counter(
    "mailpass_gateway_messages_accepted_total",
    "Messages stored and handed to the pipeline, by kind (immediate, batch).",
    ["kind"],
)
