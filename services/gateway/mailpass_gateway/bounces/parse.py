"""Bounces and complaints out of each provider's notification, as suppressions.

Only what is about the address is taken: SES ``Permanent`` bounces and complaints,
SendGrid ``bounce`` events of type ``bounce`` (not ``blocked``, a refusal of the sending
server) and ``spamreport``, Mailgun ``failed`` events of ``permanent`` severity and
``complained``. Temporary failures, deliveries, opens... are ignored. The message the
notification names (its Message-ID header) is kept with the entry.
"""

from __future__ import annotations

import json
from typing import Any

from mailpass_common.suppressions.service import Suppression, SuppressionReason

MAX_EVENTS = 1000


def _message_id(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip() or len(value) > 512:
        return None
    value = value.strip()
    return value if value.startswith("<") else f"<{value}>"


def _entry(
    account_id: str,
    source: str,
    address: Any,
    reason: SuppressionReason,
    detail: Any,
    message_id: str | None,
) -> Suppression | None:
    if not isinstance(address, str) or "@" not in address or len(address) > 320:
        return None
    return Suppression(account_id, address, reason, source, message_id, str(detail or ""))


def ses(account_id: str, message: str) -> list[Suppression]:
    """An SES notification (the SNS ``Message``): notification or event-publishing form."""
    try:
        body = json.loads(message)
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    kind = body.get("notificationType") or body.get("eventType")
    mail = body.get("mail") or {}
    message_id = _message_id((mail.get("commonHeaders") or {}).get("messageId"))
    found: list[Suppression | None] = []
    if kind == "Bounce":
        bounce = body.get("bounce") or {}
        if bounce.get("bounceType") != "Permanent":
            return []
        for r in (bounce.get("bouncedRecipients") or [])[:MAX_EVENTS]:
            detail = r.get("diagnosticCode") or bounce.get("bounceSubType")
            found.append(
                _entry(
                    account_id,
                    "ses",
                    r.get("emailAddress"),
                    SuppressionReason.BOUNCE,
                    detail,
                    message_id,
                )
            )
    elif kind == "Complaint":
        complaint = body.get("complaint") or {}
        for r in (complaint.get("complainedRecipients") or [])[:MAX_EVENTS]:
            detail = complaint.get("complaintFeedbackType") or "complaint"
            found.append(
                _entry(
                    account_id,
                    "ses",
                    r.get("emailAddress"),
                    SuppressionReason.COMPLAINT,
                    detail,
                    message_id,
                )
            )
    return [f for f in found if f is not None]


def sendgrid(account_id: str, events: Any) -> list[Suppression]:
    if not isinstance(events, list):
        return []
    found: list[Suppression | None] = []
    for event in events[:MAX_EVENTS]:
        if not isinstance(event, dict):
            continue
        message_id = _message_id(event.get("smtp-id"))
        if event.get("event") == "bounce" and event.get("type", "bounce") == "bounce":
            detail = event.get("reason") or event.get("status")
            found.append(
                _entry(
                    account_id,
                    "sendgrid",
                    event.get("email"),
                    SuppressionReason.BOUNCE,
                    detail,
                    message_id,
                )
            )
        elif event.get("event") == "spamreport":
            found.append(
                _entry(
                    account_id,
                    "sendgrid",
                    event.get("email"),
                    SuppressionReason.COMPLAINT,
                    "spamreport",
                    message_id,
                )
            )
    return [f for f in found if f is not None]


def mailgun(account_id: str, body: dict[str, Any]) -> list[Suppression]:
    data = body.get("event-data")
    if not isinstance(data, dict):
        return []
    headers = (data.get("message") or {}).get("headers") or {}
    message_id = _message_id(headers.get("message-id"))
    event = data.get("event")
    entry = None
    if event == "failed" and data.get("severity") == "permanent":
        status = data.get("delivery-status") or {}
        detail = " ".join(str(status.get(k) or "") for k in ("code", "message")).strip()
        entry = _entry(
            account_id,
            "mailgun",
            data.get("recipient"),
            SuppressionReason.BOUNCE,
            detail or status.get("description"),
            message_id,
        )
    elif event == "complained":
        entry = _entry(
            account_id,
            "mailgun",
            data.get("recipient"),
            SuppressionReason.COMPLAINT,
            "complained",
            message_id,
        )
    return [] if entry is None else [entry]
