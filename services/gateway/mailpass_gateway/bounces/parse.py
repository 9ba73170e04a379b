"""Bounces and complaints out of each provider's notification, as suppressions.

Only what is about the address is taken: SES ``Permanent`` bounces and complaints,
SendGrid ``bounce`` events of type ``bounce`` (not ``blocked``, a refusal of the sending
server) and ``spamreport``, Mailgun ``failed`` events of ``permanent`` severity and
``complained``. Temporary failures, deliveries, opens... are ignored. The message the
notification names (its Message-ID header) is kept with the entry.

A notification is internet input even once its signature verifies (a provider's format
changes, a signing key leaks): every value is read as what it may be, never as what it
should be, so a field of the wrong shape is ignored, never an error of ours.
"""

from __future__ import annotations

import json
from typing import Any

from mailpass_common.suppressions.service import Suppression, SuppressionReason

MAX_EVENTS = 1000


def _obj(value: Any) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def _objects(value: Any) -> list[dict[str, Any]]:
    """The JSON objects among the first ``MAX_EVENTS`` items of ``value`` (if a list)."""
    return [v for v in value[:MAX_EVENTS] if isinstance(v, dict)] if isinstance(value, list) else []


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
    mail = _obj(body.get("mail"))
    message_id = _message_id(_obj(mail.get("commonHeaders")).get("messageId"))
    found: list[Suppression | None] = []
    if kind == "Bounce":
        bounce = _obj(body.get("bounce"))
        if bounce.get("bounceType") != "Permanent":
            return []
        for r in _objects(bounce.get("bouncedRecipients")):
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
        complaint = _obj(body.get("complaint"))
        for r in _objects(complaint.get("complainedRecipients")):
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
    found: list[Suppression | None] = []
    for event in _objects(events):
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
    headers = _obj(_obj(data.get("message")).get("headers"))
    message_id = _message_id(headers.get("message-id"))
    event = data.get("event")
    entry = None
    if event == "failed" and data.get("severity") == "permanent":
        status = _obj(data.get("delivery-status"))
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
