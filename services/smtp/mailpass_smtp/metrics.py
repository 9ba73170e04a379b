"""Submission's own metrics (connections, TLS and blocked clients are the shared
``mailpass_smtp_server_*`` ones)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

MESSAGES = Counter(
    "mailpass_smtp_messages_total",
    "Messages at the end of DATA: accepted (stored, 250), or refused by reason "
    "(malformed, from_invalid, from_not_allowed, attachment_refused, too_large, policy, "
    "send_limit, no_provider, unavailable).",
    ["outcome"],
)
RECIPIENTS_REFUSED = Counter(
    "mailpass_smtp_recipients_refused_total",
    "RCPT TO refused, by reason (suppressed, too_many, invalid).",
    ["reason"],
)
AUTHENTICATIONS = Counter(
    "mailpass_smtp_authentications_total",
    "AUTH attempts by outcome (succeeded, failed, blocked).",
    ["outcome"],
)
ACCEPT_SECONDS = Histogram(
    "mailpass_smtp_accept_duration_seconds",
    "From the end of DATA to the 250: checking, storing and publishing one message.",
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
