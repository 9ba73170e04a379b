"""mailpass-inbound's metrics: what it accepted and refused, and what the reports said."""

from __future__ import annotations

from prometheus_client import Counter

ACCEPTED = Counter(
    "mailpass_inbound_accepted_total",
    "Messages accepted (250 after DATA), by what they were: delivery_status, "
    "feedback_report, not_a_report (an auto-reply to the return path: dropped).",
    ["kind"],
)
REFUSED = Counter(
    "mailpass_inbound_refused_total",
    "Senders, recipients and messages refused, by reason: other_domain, "
    "not_a_return_path, unknown_message (550 at RCPT), too_many_recipients, rate_limited "
    "(450 at MAIL), unreadable_report (554), error (451: the database did not answer). "
    'Connections refused are mailpass_smtp_server_connections_total{listener="inbound"}.',
    ["reason"],
)
DSN_RECIPIENTS = Counter(
    "mailpass_inbound_dsn_recipients_total",
    "Per-recipient blocks of delivery status notifications, by action (failed, delayed, "
    "delivered, relayed, expanded).",
    ["action"],
)
FEEDBACK_REPORTS = Counter(
    "mailpass_inbound_feedback_reports_total",
    "Abuse reports (ARF) by feedback type (abuse, fraud, virus, other: complaints; "
    "not-spam, auth-failure: recorded nowhere).",
    ["feedback_type"],
)
BOUNCED = Counter(
    "mailpass_inbound_messages_bounced_total",
    "Messages moved from sent to bounced by a delivery status notification.",
)
SUPPRESSED = Counter(
    "mailpass_inbound_addresses_suppressed_total",
    "Addresses put on a suppression list by a report, by reason (bounce, complaint).",
    ["reason"],
)
