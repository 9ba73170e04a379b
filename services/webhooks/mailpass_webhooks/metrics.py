"""The webhooks service's metrics: attempts by outcome, their duration, events relayed."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

DELIVERIES = Counter(
    "mailpass_webhook_deliveries_total",
    "Webhook delivery attempts by outcome (succeeded, retrying, exhausted), and jobs "
    "dropped because their endpoint or event is gone or disabled (dropped), or put off "
    "because their host's per-second budget was spent (throttled).",
    ["outcome"],
)
DELIVERY_SECONDS = Histogram(
    "mailpass_webhook_delivery_duration_seconds",
    "Time of one webhook request, connect to the end of the (capped) response.",
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 15, 30),
)
EVENTS_RELAYED = Counter(
    "mailpass_webhook_events_relayed_total",
    "Events taken from the outbox and published as delivery jobs.",
)
ENDPOINTS_DISABLED = Counter(
    "mailpass_webhook_endpoints_disabled_total",
    "Endpoints disabled after failing for WEBHOOK_DISABLE_AFTER_SECONDS.",
)
