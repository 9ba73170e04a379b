"""The transition table is the only writer of a message's status, and says what it says.

The scan reads the library and the services: a ``status`` written in an update
(``"$set"``) anywhere but through a transition of ``mailpass_common.messages.transitions``
fails here, so a tenth place that writes a status cannot appear unnoticed.
"""

from __future__ import annotations

import re
from pathlib import Path

from mailpass_common.messages.models import MessageStatus
from mailpass_common.messages.transitions import (
    CLAIM,
    FINAL,
    TRANSITIONS,
    allowed,
)

ROOT = Path(__file__).resolve().parents[2]
S = MessageStatus


def test_the_table_is_the_documented_lifecycle() -> None:
    edges = {(source, t.target) for t in TRANSITIONS for source in t.sources or (None,)}
    assert edges == {
        (None, S.QUEUED),
        (None, S.SCHEDULED),
        (S.SCHEDULED, S.QUEUED),
        (S.SCHEDULED, S.CANCELLED),
        (S.QUEUED, S.SENDING),
        (S.DEFERRED, S.SENDING),
        (S.SENDING, S.SENDING),
        (S.SENDING, S.SENT),
        (S.SENDING, S.DEFERRED),
        (S.SENDING, S.FAILED),
        (S.QUEUED, S.FAILED),
        # Outcomes under a claim given at acceptance (the message stays queued till then).
        (S.QUEUED, S.SENT),
        (S.QUEUED, S.DEFERRED),
        (S.FAILED, S.QUEUED),
        (S.SENT, S.BOUNCED),
    }
    # Every status is reachable from a new message, and final ones are never left.
    reachable = {S.QUEUED, S.SCHEDULED}
    while True:
        more = {t for s, t in edges if s in reachable} - reachable
        if not more:
            break
        reachable |= more
    assert set(S) <= reachable
    assert not any(source in FINAL for source, _ in edges)
    assert not allowed(S.SENT, S.QUEUED) and allowed(S.FAILED, S.QUEUED)


def test_selectors_name_the_sources_in_the_query_shapes_of_db_where() -> None:
    assert CLAIM.selector() == {"status": {"$in": ["queued", "deferred"]}}
    release = next(t for t in TRANSITIONS if t.name == "release")
    assert release.selector() == {"status": {"$eq": "scheduled"}}
    assert release.fields(published_at=None) == {"status": "queued", "published_at": None}


SET_STATUS = re.compile(r'"\$set":\s*\{[^}]*"status"\s*:\s*MessageStatus\.', re.S)


def test_no_module_writes_a_status_but_through_the_table() -> None:
    offenders = []
    for base in ("libs/common/mailpass_common", "services"):
        for path in (ROOT / base).rglob("*.py"):
            if path.name == "transitions.py":
                continue
            text = path.read_text()
            if SET_STATUS.search(text):
                offenders.append(str(path.relative_to(ROOT)))
    assert offenders == []


def _documented_table() -> set[tuple[str, str | None, str]]:
    """The transition table of docs/architecture.md as (name, source, target) rows."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    table = text.split("| transition | from | to | who |", 1)[1].split("\n\n", 1)[0]
    rows: set[tuple[str, str | None, str]] = set()
    for line in table.strip().splitlines()[1:]:  # past the |---| line
        names, sources, targets, _ = (cell.strip() for cell in line.strip("| ").split(" | "))
        for name, target in zip(
            re.findall(r"`(\w+)`", names), re.findall(r"`(\w+)`", targets), strict=True
        ):
            for source in re.findall(r"`(\w+)`", sources) or [None]:
                rows.add((name.lower(), source, target))
    return rows


def test_the_architecture_page_shows_this_table() -> None:
    in_code = {
        (t.name, None if source is None else str(source), str(t.target))
        for t in TRANSITIONS
        for source in t.sources or (None,)
    }
    assert _documented_table() == in_code
