"""Metrics of every SMTP server MailPass runs (``mailpass-smtp``, ``mailpass-inbound``),
labelled by listener (``submission``, ``submissions``, ``inbound``...)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

CONNECTIONS = Counter(
    "mailpass_smtp_server_connections_total",
    "Connections by listener and outcome: accepted, or refused because the server "
    "(refused_server_full) or the client address (refused_client_full) is at its limit, "
    "or the address failed too often (refused_client_blocked).",
    ["listener", "outcome"],
)
OPEN_CONNECTIONS = Gauge(
    "mailpass_smtp_server_open_connections",
    "Connections open now, by listener.",
    ["listener"],
    multiprocess_mode="livesum",
)
TLS_RELOADS = Counter(
    "mailpass_smtp_server_tls_reloads_total",
    "Certificate and key files loaded again after they changed (reloaded), or changed "
    "but unusable so far (failed: the previous pair is kept).",
    ["outcome"],
)
BLOCKED_CLIENTS = Counter(
    "mailpass_smtp_server_blocked_clients_total",
    "Clients cut off (421) because their address failed too often in the window "
    "(failed authentications, ...).",
    ["listener"],
)
