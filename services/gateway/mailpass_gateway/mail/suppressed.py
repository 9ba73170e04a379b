"""The suppression check of ``/send``, ``/send-batch`` and resends: one index lookup per
request.

A message whose ``to`` is suppressed is refused (422 RECIPIENT_SUPPRESSED, naming the
address; in a batch, that entry fails with the code) and never reaches a provider. A
suppressed ``cc`` or ``bcc`` is dropped from the message, which goes to the others, and
the response lists it under ``suppressed``. (``/send`` without attachments, a schedule
or an Idempotency-Key runs the lookup beside its insert:
:mod:`mailpass_gateway.mail.screening`.)

The check is made when the message is accepted, not again when it is sent: an address
suppressed between the two (a bounce of another message arriving meanwhile, or a
scheduled message's wait) still gets that one message. That race is accepted; checking
again in the sender would cost every delivery a round trip.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.suppressions import service as suppressions
from mailpass_gateway.errors import ApiError
from mailpass_gateway.mail.models import SendRequest


def recipients(request: SendRequest) -> list[str]:
    return [request.to, *request.cc, *request.bcc]


async def lookup(db: Database, account_id: str, addresses: Iterable[str]) -> dict[str, str]:
    """Which of the addresses the account suppresses (normalized address → reason)."""
    return await suppressions.suppressed(db, account_id, addresses)


def screen(request: SendRequest, found: dict[str, str]) -> tuple[SendRequest, list[dict[str, Any]]]:
    """The request without its suppressed cc/bcc, and what was dropped; raises
    RECIPIENT_SUPPRESSED when its ``to`` is suppressed."""
    if not found:
        return request, []
    kept, dropped = screen_addresses(request.to, {"cc": request.cc, "bcc": request.bcc}, found)
    if not dropped:
        return request, []
    return request.model_copy(update=kept), dropped


def screen_addresses(
    to: str, copies: dict[str, list[str]], found: dict[str, str]
) -> tuple[dict[str, list[str]], list[dict[str, Any]]]:
    """``copies`` (cc, bcc) without their suppressed addresses, and what was dropped;
    raises RECIPIENT_SUPPRESSED when ``to`` is suppressed."""
    reason = found.get(suppressions.normalized(to))
    if reason is not None:
        raise ApiError(
            ErrorCode.RECIPIENT_SUPPRESSED,
            f"{to} is on this account's suppression list ({reason}): not sent",
            {"address": to, "reason": reason},
        )
    dropped: list[dict[str, Any]] = []
    kept: dict[str, list[str]] = {}
    for field, addresses in copies.items():
        kept[field] = []
        for address in addresses:
            reason = found.get(suppressions.normalized(address))
            if reason is None:
                kept[field].append(address)
            else:
                dropped.append({"address": address, "field": field, "reason": reason})
    return kept, dropped
