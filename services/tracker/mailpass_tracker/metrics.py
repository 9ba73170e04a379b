from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

EVENTS_RECORDED = Counter(
    "mailpass_tracker_events_total",
    "Opens and clicks written to MongoDB, by event type and classification "
    "(human, machine_open, scanner).",
    ["event_type", "classification"],
)
INVALID_TOKENS = Counter(
    "mailpass_tracker_invalid_tokens_total",
    "Requests whose token did not verify (answered 404, nothing recorded), by route kind.",
    ["kind"],
)
EVENTS_DROPPED = Counter(
    "mailpass_tracker_events_dropped_total",
    "Verified events never written, by reason: buffer_full (the oldest gave way while the "
    "database was slow or down), unknown_message (its message no longer exists), "
    "shutdown (still buffered when the drain timed out), write_error (a bug, logged).",
    ["reason"],
)
BUFFER_DEPTH = Gauge(
    "mailpass_tracker_buffer_depth",
    "Events waiting to be written, including a batch being retried.",
)
FLUSH_SECONDS = Histogram(
    "mailpass_tracker_flush_seconds",
    "Time to write one batch (account lookup and insert_many), successful writes only.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
FLUSH_FAILURES = Counter(
    "mailpass_tracker_flush_failures_total",
    "Batch writes that failed and will be retried.",
)
OPENS_DEDUPLICATED = Counter(
    "mailpass_tracker_opens_deduplicated_total",
    "Opens not recorded because the same reader (IP) opened the same message in the same "
    "minute already: mail clients and image proxies fetch a pixel again and again.",
)
