"""The API's refusals as SMTP replies: the same rule, said the way an SMTP client acts on.

A 4xx makes the client keep the message and try again later (the send limit, a missing
provider an operator can add, the database away); a 5xx returns it to its sender. An
API refusal without an SMTP meaning of its own is a policy refusal: ``550 5.7.1``
(RFC 3463: delivery not authorized, message refused), with the API's sentence.
"""

from __future__ import annotations

from mailpass_common.platform.errors import ErrorCode
from mailpass_common.providers.plugin import AcceptanceRefused
from mailpass_smtp.refusals import Refused

_REPLIES = {
    ErrorCode.SEND_LIMIT_EXCEEDED: ("451 4.7.1", "send_limit"),
    ErrorCode.NO_SMTP_PROVIDER: ("451 4.3.0", "no_provider"),
    ErrorCode.RECIPIENT_SUPPRESSED: ("550 5.1.1", "suppressed"),
    ErrorCode.MESSAGE_TOO_LARGE: ("552 5.3.4", "too_large"),
    ErrorCode.ATTACHMENT_REFUSED: ("550 5.7.1", "attachment_refused"),
    ErrorCode.VALIDATION_ERROR: ("554 5.6.0", "malformed"),
    ErrorCode.DOMAIN_NOT_VERIFIED: ("550 5.7.1", "from_not_allowed"),
}


def refusal(error: AcceptanceRefused) -> Refused:
    code, reason = _REPLIES.get(error.code, ("550 5.7.1", "policy"))
    sentence = " ".join(error.message.split())  # one line, whatever the message held
    return Refused(f"{code} {sentence}", reason)
