"""The gateway's RED metrics (rate, errors, duration), and what it accepted."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

from mailpass_common.platform.metrics import children

REQUESTS = Counter(
    "mailpass_gateway_requests_total",
    "HTTP requests by route template, method and status code.",
    ["route", "method", "status"],
)
REQUEST_SECONDS = Histogram(
    "mailpass_gateway_request_duration_seconds",
    "HTTP request duration by route template and method.",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
MESSAGES_ACCEPTED = Counter(
    "mailpass_gateway_messages_accepted_total",
    "Messages stored and handed to the pipeline, by endpoint (send, send_batch).",
    ["endpoint"],
)
ERRORS = Counter(
    "mailpass_gateway_errors_total",
    "Error responses by error code (VALIDATION_ERROR, SEND_LIMIT_EXCEEDED, ...).",
    ["code"],
)
# The children, looked up once per label values (see ``children``).
REQUEST_COUNT = children(REQUESTS)
REQUEST_DURATION = children(REQUEST_SECONDS)
ACCEPTED = children(MESSAGES_ACCEPTED)
