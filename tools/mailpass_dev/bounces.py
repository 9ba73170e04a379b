"""The capture server's stand-in for the world's mail servers: bounces that come back later.

Mail the dev stack's MTA delivers to the capture server comes from a signed return path
(``b…@MTA_RETURN_PATH_DOMAIN``). When a recipient's local part asks for it, the capture
server keeps the message as usual and then reports on it to that return path, as a
remote server would, to mailpass-inbound on ``127.0.0.1:INBOUND_SMTP_PORT``:

- ``bounce…@`` (e.g. ``bounce@example.test``): a DSN, ``failed`` 5.1.1 user unknown
  (the message becomes ``bounced``, the address suppressed);
- ``delay…@``: a DSN, ``delayed`` 4.4.1 (a ``delayed`` event);
- ``complain…@``: an abuse report (ARF), as a mailbox provider's feedback loop sends
  when the recipient presses "spam" (a ``complaint``, the address suppressed).
"""

from __future__ import annotations

import email.utils
import logging
import smtplib
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)

REPORTING_MTA = "mx.mailpass.test"


@dataclass(frozen=True)
class BounceBack:
    return_path_domain: str
    inbound_host: str
    inbound_port: int
    # A remote server reports a while after it accepted the message: by then the sender
    # has recorded the message as sent (a report about a message still being sent
    # records its event but cannot move it to bounced).
    delay_seconds: float = 2.0

    def reports(self, mail_from: str, recipients: list[str], original: bytes) -> list[bytes]:
        """The reports owed for one captured message (none unless it came from a return
        path and a recipient asked for one)."""
        if not mail_from.lower().endswith("@" + self.return_path_domain.lower()):
            return []
        headers = original.split(b"\r\n\r\n", 1)[0].decode("utf-8", "replace")
        found = []
        for rcpt in recipients:
            local = rcpt.partition("@")[0].lower()
            if local.startswith("bounce"):
                found.append(
                    dsn(mail_from, rcpt, headers, "failed", "5.1.1", "550 5.1.1 User unknown")
                )
            elif local.startswith("delay"):
                found.append(
                    dsn(
                        mail_from,
                        rcpt,
                        headers,
                        "delayed",
                        "4.4.1",
                        "451 4.4.1 Mailbox busy, still trying",
                    )
                )
            elif local.startswith("complain"):
                found.append(arf(mail_from, rcpt, headers))
        return found

    def send(self, mail_from: str, report: bytes) -> None:
        """Deliver one report to mailpass-inbound (MAIL FROM:<>, as bounces are sent),
        ``delay_seconds`` from now (in a worker thread: it sleeps)."""
        time.sleep(self.delay_seconds)
        try:
            with smtplib.SMTP(self.inbound_host, self.inbound_port, timeout=10) as client:
                client.sendmail("", [mail_from], report)
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("could not report to %s:%s: %s", self.inbound_host, self.inbound_port, exc)


def _envelope(return_path: str, subject: str, content_type: str) -> str:
    return (
        f"From: Mail Delivery System <MAILER-DAEMON@{REPORTING_MTA}>\r\n"
        f"To: {return_path}\r\n"
        f"Subject: {subject}\r\n"
        f"Date: {email.utils.formatdate(usegmt=True)}\r\n"
        f"Message-ID: {email.utils.make_msgid(domain=REPORTING_MTA)}\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: {content_type}; boundary="dev-report"\r\n\r\n'
    )


def dsn(
    return_path: str, recipient: str, headers: str, action: str, status: str, diagnostic: str
) -> bytes:
    """A delivery status notification (RFC 3464) with the original's headers."""
    text = _envelope(
        return_path,
        "Undelivered Mail Returned to Sender" if action == "failed" else "Delayed Mail",
        "multipart/report; report-type=delivery-status",
    )
    text += (
        "--dev-report\r\nContent-Type: text/plain\r\n\r\n"
        f"The capture server reports on your message to <{recipient}>: {diagnostic}\r\n"
        "--dev-report\r\nContent-Type: message/delivery-status\r\n\r\n"
        f"Reporting-MTA: dns; {REPORTING_MTA}\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        f"Action: {action}\r\nStatus: {status}\r\n"
        f"Remote-MTA: dns; {REPORTING_MTA}\r\n"
        f"Diagnostic-Code: smtp; {diagnostic}\r\n\r\n"
        "--dev-report\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{headers}\r\n--dev-report--\r\n"
    )
    return text.encode()


def arf(return_path: str, recipient: str, headers: str) -> bytes:
    """An abuse report (RFC 5965) about the message, as a feedback loop sends it."""
    text = _envelope(return_path, "Abuse report", "multipart/report; report-type=feedback-report")
    text += (
        "--dev-report\r\nContent-Type: text/plain\r\n\r\n"
        f"<{recipient}> marked your message as spam.\r\n"
        "--dev-report\r\nContent-Type: message/feedback-report\r\n\r\n"
        "Feedback-Type: abuse\r\nUser-Agent: mailpass-dev/1\r\nVersion: 1\r\n"
        f"Original-Rcpt-To: <{recipient}>\r\n\r\n"
        "--dev-report\r\nContent-Type: text/rfc822-headers\r\n\r\n"
        f"{headers}\r\n--dev-report--\r\n"
    )
    return text.encode()
