"""What each delivered message costs the database, and each /send the CPU: the table's rows.

Per phase (batch empty, preloaded, through MailPass SMTP, SMTP submission, /send at each
client count): MongoDB round trips, documents written and index keys written per message
delivered (by collection in ``bench.json``: see :mod:`mailpass_dev.bench.probes`). Per
/send: CPU milliseconds per request completed in each process.
"""

from __future__ import annotations

from mailpass_dev.bench.figures import Medians, Row, Target, get
from mailpass_dev.bench.probes import CPU_PER_REQUEST_PROCESSES

# (phase, key prefix, label, round trips target)
_PHASES: tuple[tuple[str, str, str, Target | None], ...] = (
    ("batch_empty", "batch_empty", "batch (empty)", Target("<=", 0.2)),
    ("batch_preloaded", "batch_preloaded", "batch (preloaded)", Target("<=", 0.2)),
    ("batch_mta", "batch_mta", "batch through MailPass SMTP", None),
    ("smtp_c10", "smtp", "SMTP submission", None),
)
SEND_ROUND_TRIPS = Target("<=", 4)
GATEWAY_CPU_MS = Target("<", 1.5)
# Issue 26: fewer documents written per delivered batch message than when it was filed
# (3: inserted, claimed, recorded).
BATCH_DOCUMENTS = Target("<", 3)


def _phase_rows(m: Medians, phase: str, key: str, label: str, trips: Target | None) -> list[Row]:
    return [
        Row(
            f"{key}_round_trips",
            f"round trips / message, {label}",
            get(m, phase, "round_trips_per_message"),
            "",
            trips,
        ),
        Row(
            f"{key}_documents_written",
            f"documents written / message, {label}",
            get(m, phase, "documents_written_per_message"),
            "",
            BATCH_DOCUMENTS if phase.startswith("batch_") else None,
        ),
        Row(
            f"{key}_index_keys",
            f"index keys written / message, {label}",
            get(m, phase, "index_keys_per_message"),
            "",
        ),
    ]


def cost_rows(m: Medians, clients: tuple[int, ...]) -> list[Row]:
    rows: list[Row] = []
    for phase, key, label, trips in _PHASES:
        rows += _phase_rows(m, phase, key, label, trips)
    for c in clients:
        rows += _phase_rows(m, f"send_c{c}", f"send_c{c}", f"/send x{c}", SEND_ROUND_TRIPS)
    for c in clients:
        rows += [
            Row(
                f"send_c{c}_cpu_ms_{name}",
                f"/send x{c}: CPU per request, {name}",
                get(m, f"send_c{c}", f"cpu_ms_per_request_{name}"),
                "ms",
                GATEWAY_CPU_MS if name == "gateway" else None,
            )
            for name in CPU_PER_REQUEST_PROCESSES
        ]
    return rows
