"""A deferral that was not an attempt: every destination still owed is one MailPass itself
leaves alone for now (it answered 421 or 4.7.x; :mod:`mailpass_common.mta.backoff`).

Nothing was tried, so the message's retry budget is not spent: the attempt the claim
counted is given back in the same record write (``Deferred.backed_off_seconds``), and the
message waits until about when the back-off ends, rounded up to the retry schedule's next
step (the delay queues are the schedule's, never one per back-off) and never past its cap.
So it cannot wait for ever on a host that keeps asking us to slow down, the waits are
added up on the message; past ``sender_backoff_wait_limit_seconds`` in total it fails,
dead-lettered (an operator may replay it), with an error saying why.
"""

from __future__ import annotations

from bson import ObjectId

from mailpass_common.messages import events
from mailpass_common.messages import service as messages
from mailpass_common.messages.models import EventType
from mailpass_common.platform.db import Document
from mailpass_sender.models import Claimed, Decision, DeliveryContext
from mailpass_sender.retry import RetryDelay, RetryPolicy


def not_attempted(outcome: messages.Outcome) -> bool:
    """Whether ``outcome`` ends a claim that tried nothing (the claim's attempt given back)."""
    if isinstance(outcome, messages.Deferred):
        return outcome.backed_off_seconds is not None
    return isinstance(outcome, messages.Failed) and outcome.not_attempted


def delay_for(policy: RetryPolicy, seconds: float) -> RetryDelay:
    """The retry schedule's first step of at least ``seconds`` (its cap at most)."""
    attempts = 1
    delay = policy.delay_after(attempts)
    while delay.nominal_seconds < min(seconds, policy.max_seconds) and attempts < 64:
        attempts += 1
        delay = policy.delay_after(attempts)
    return delay


def wait_for_backoff(
    claimed: Claimed,
    ctx: DeliveryContext,
    error: str,
    seconds: float,
    notes: tuple[Document, ...] = (),
) -> Decision:
    """Deferred without spending an attempt, or failed once the total wait is too long."""
    doc = claimed.message
    token = doc["claim_token"]
    waited = float(doc.get("backoff_waited_seconds") or 0.0)
    delay = delay_for(ctx.policy, seconds)
    limit = ctx.settings.sender_backoff_wait_limit_seconds
    if waited + delay.seconds > limit:
        error = (
            f"not delivered: its destination stayed backed off for over {limit:g} s in total "
            f"(it asked MailPass to slow down); last: {error}"
        )
        failed = messages.Failed(doc["_id"], token, error, True, not_attempted=True)
        return Decision(claimed, failed, dead_letter=True, events=notes)
    event = events.event_document(
        message_id=doc["_id"],
        account_id=doc["account_id"],
        event_type=EventType.DEFERRED,
        sandbox=bool(doc.get("sandbox")),
        _id=ObjectId(),  # fixed now, so a retried record never writes it twice
        detail=error,
        attempt=max(0, int(doc.get("attempts") or 1) - 1),
        attempted=False,
        retry_in_seconds=round(delay.seconds, 3),
    )
    deferred = messages.Deferred(doc["_id"], token, error, backed_off_seconds=delay.seconds)
    return Decision(claimed, deferred, delay=delay, events=(*notes, event))
