"""The one interface every delivery provider implements.

A provider turns an :class:`OutgoingEmail` into an accepted delivery or raises one of two
errors, which decide what happens to the message: a :class:`TemporaryDeliveryError` is
retried later (SMTP 4xx, connection failures, timeouts, HTTP 429/5xx), a
:class:`PermanentDeliveryError` fails the message at once (SMTP 5xx, HTTP 4xx). Both
carry the provider's reply, which ends up as the message's ``error_message``.

What a reply may contain is the provider's own answer in its protocol: an SMTP reply
line, or the message an HTTP API puts in its documented error shape, always through
:func:`reply_text`. Raw bytes of a service that is not a mail server (an SSH banner, an
HTTP body) are never repeated: tenants read these replies, and echoing whatever answered
would turn the provider test into a way to read other services.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

from mailpass_common.messages.attachments import Attachment

MAX_REPLY_CHARS = 300
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


def reply_text(text: str, limit: int = MAX_REPLY_CHARS) -> str:
    """A remote reply as tenants may see it: one line, no control characters, truncated."""
    line = _CONTROL.sub(" ", text).strip()
    return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"


@dataclass(frozen=True)
class OutgoingEmail:
    message_id: str  # with angle brackets, as in the Message-ID header
    from_email: str
    from_name: str | None
    to: str
    subject: str
    html: str | None = None
    text: str | None = None
    cc: tuple[str, ...] = ()
    bcc: tuple[str, ...] = ()
    reply_to: str | None = None
    tags: tuple[str, ...] = ()
    metadata: dict[str, str] = field(default_factory=dict)
    attachments: tuple[Attachment, ...] = ()
    # Submitted over SMTP: the MIME handed to ``send`` is the message as it came, and the
    # fields only describe it (a provider that builds from fields cannot send it).
    as_submitted: bool = False
    # The List-Unsubscribe value (RFC 2369), with List-Unsubscribe-Post (RFC 8058): set
    # when the message offers one-click unsubscribe.
    list_unsubscribe: str | None = None
    # Whose message it is: MailPass's own delivery signs with that account's DKIM keys.
    account_id: str = ""

    @property
    def recipients(self) -> list[str]:
        """The envelope recipients: To, Cc and Bcc (Bcc never appears in a header)."""
        return [self.to, *self.cc, *self.bcc]


# RFC 3463 enhanced status classes that are about the address itself: X.1.x (addressing:
# no such user, bad domain) and X.2.x (mailbox: disabled, full for good). A 5.7.x (policy:
# relaying denied, a block list) says nothing about the address, and suppressing on it
# would empty a tenant's audience because of one misconfigured relay.
_ADDRESS_STATUS = re.compile(r"^\s*5\d\d[ -]+5\.([0-9]+)\.")


@dataclass(frozen=True)
class Bounce:
    """A recipient a provider refused for good at RCPT: it goes on the suppression list."""

    address: str  # as the message named it
    reply: str  # the provider's reply line

    @staticmethod
    def of(address: str, code: int, message: str) -> Bounce | None:
        """A bounce for a 5xx about the address; None for anything else."""
        if not 500 <= code < 600:
            return None
        reply = reply_text(f"{code} {message}")
        enhanced = _ADDRESS_STATUS.match(reply)
        if enhanced is not None and enhanced.group(1) not in ("1", "2"):
            return None
        return Bounce(address, reply)


@dataclass(frozen=True)
class DeliveryResult:
    provider_message_id: str | None
    reply: str = ""
    # Recipients refused for good while the others were accepted.
    bounced: tuple[Bounce, ...] = ()


class DeliveryError(Exception):
    def __init__(
        self, reply: str, bounced: tuple[Bounce, ...] = (), *, destination: str | None = None
    ) -> None:
        super().__init__(reply)
        self.reply = reply
        self.bounced = bounced
        # The recipient domain a failure is about (MailPass's own MTA): it says nothing of
        # the provider's health, so it never opens the provider's circuit.
        self.destination = destination


class TemporaryDeliveryError(DeliveryError):
    """Worth trying again later, or through another provider."""


class DestinationBackedOff(TemporaryDeliveryError):
    """Not attempted: MailPass itself leaves the destination alone for now (it answered 421
    or 4.7.x to some sender; :mod:`mailpass_common.mta.backoff`). No connection was made,
    so the message's retry budget is not spent; it waits ``retry_after`` seconds."""

    def __init__(self, reply: str, *, destination: str, retry_after: float) -> None:
        super().__init__(reply, destination=destination)
        self.retry_after = retry_after


class PermanentDeliveryError(DeliveryError):
    """The provider refused this message; trying again would not help."""


class Provider(Protocol):
    type: str

    async def send(self, email: OutgoingEmail, mime: bytes) -> DeliveryResult:
        """Deliver ``email``; ``mime`` is its RFC 5322 form (``mime.render``), built once
        per message and shared by every provider of the failover chain."""
        ...

    async def check(self) -> None:
        """Connect and authenticate without sending; raise DeliveryError on failure."""
        ...

    async def close(self) -> None: ...
