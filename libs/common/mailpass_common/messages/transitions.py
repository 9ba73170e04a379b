"""A message's status transitions: the one table every status write goes through.

Each write names its transition, whose ``selector`` is the filter part that says where
the message may move from and whose ``fields`` set where it moves to; nothing else
writes ``status``. A transition not in the table cannot happen, whatever races:

====================  ========================  ==========  ==================================
transition            from                      to          who, and what else the filter holds
====================  ========================  ==========  ==================================
``ACCEPT``            (new)                     queued      the gateway's insert
``SCHEDULE``          (new)                     scheduled   the gateway's insert, ``scheduled_at``
``RELEASE``           scheduled                 queued      the scheduler, when due
``CANCEL``            scheduled                 cancelled   the account (API, console)
``CLAIM``             queued, deferred          sending     a sender, with a fresh claim token
``RECLAIM``           sending                   sending     a sender, when the lease ran out
``SEND``              sending                   sent        the sender holding the claim token
``DEFER``             sending                   deferred    the sender holding the claim token
``FAIL``              sending                   failed      the sender holding the claim token
``SEND_AS_ACCEPTED``  queued                    sent        the sender holding the claim token
                                                            given at acceptance
``DEFER_AS_ACCEPTED`` queued                    deferred    (the same)
``FAIL_AS_ACCEPTED``  queued                    failed      (the same)
``FAIL_UNSENT``       queued                    failed      the scheduler: no provider left
``REPLAY``            failed                    queued      an operator (``mailpass dlq``)
``BOUNCE``            sent                      bounced     mailpass-inbound: a bounce report
====================  ========================  ==========  ==================================

``bounced`` and ``cancelled`` are final; ``sent`` is, but for a bounce reported later;
``failed`` is, but for an operator's replay.
Outcomes (``SEND``, ``DEFER``, ``FAIL``) are matched by the claim token, which only a
``sending`` message carries under its current claim, and by their source status; the
``*_AS_ACCEPTED`` ones by a claim given at acceptance, which a ``queued`` message carries
(:mod:`mailpass_common.messages.claims`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mailpass_common.messages.models import MessageStatus

S = MessageStatus


@dataclass(frozen=True)
class Transition:
    name: str
    sources: tuple[MessageStatus, ...]  # empty: the message is new
    target: MessageStatus

    def selector(self) -> dict[str, Any]:
        """The filter part naming where the message may move from."""
        if not self.sources:
            raise ValueError(f"{self.name} creates a message; there is nothing to match")
        if len(self.sources) == 1:
            return {"status": {"$eq": self.sources[0].value}}  # the shape of db.where
        return {"status": {"$in": [s.value for s in self.sources]}}

    def fields(self, **more: Any) -> dict[str, Any]:
        """The ``$set`` of the move: the target status and the fields that go with it."""
        return {"status": self.target.value, **more}


ACCEPT = Transition("accept", (), S.QUEUED)
SCHEDULE = Transition("schedule", (), S.SCHEDULED)
RELEASE = Transition("release", (S.SCHEDULED,), S.QUEUED)
CANCEL = Transition("cancel", (S.SCHEDULED,), S.CANCELLED)
CLAIM = Transition("claim", (S.QUEUED, S.DEFERRED), S.SENDING)
RECLAIM = Transition("reclaim", (S.SENDING,), S.SENDING)
SEND = Transition("send", (S.SENDING,), S.SENT)
DEFER = Transition("defer", (S.SENDING,), S.DEFERRED)
FAIL = Transition("fail", (S.SENDING,), S.FAILED)
SEND_AS_ACCEPTED = Transition("send_as_accepted", (S.QUEUED,), S.SENT)
DEFER_AS_ACCEPTED = Transition("defer_as_accepted", (S.QUEUED,), S.DEFERRED)
FAIL_AS_ACCEPTED = Transition("fail_as_accepted", (S.QUEUED,), S.FAILED)
FAIL_UNSENT = Transition("fail_unsent", (S.QUEUED,), S.FAILED)
REPLAY = Transition("replay", (S.FAILED,), S.QUEUED)
BOUNCE = Transition("bounce", (S.SENT,), S.BOUNCED)

TRANSITIONS = (
    ACCEPT,
    SCHEDULE,
    RELEASE,
    CANCEL,
    CLAIM,
    RECLAIM,
    SEND,
    DEFER,
    FAIL,
    SEND_AS_ACCEPTED,
    DEFER_AS_ACCEPTED,
    FAIL_AS_ACCEPTED,
    FAIL_UNSENT,
    REPLAY,
    BOUNCE,
)
FINAL = frozenset({S.BOUNCED, S.CANCELLED})


def allowed(source: MessageStatus | None, target: MessageStatus) -> bool:
    """Whether a message may move from ``source`` (None: a new message) to ``target``."""
    return any(
        t.target is target and (source in t.sources if source else not t.sources)
        for t in TRANSITIONS
    )
