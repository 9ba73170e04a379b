"""Reports as real servers send them: Postfix, Exim, Gmail-style DSNs and an ARF report.

Each builder takes the return path (the DSN's To), the recipient and the original's
Message-ID, and returns the bytes a remote server would send after DATA.
"""

from __future__ import annotations

ORIGINAL = """Return-Path: <{return_path}>
From: Acme <noreply@acme.test>
To: {rcpt}
Subject: Your receipt
Message-ID: {message_id}
DKIM-Signature: v=1; a=rsa-sha256; d=acme.test; s=mp1; h=from:to:subject; bh=x; b=y
Content-Type: text/plain

Thanks for your order.
"""


def postfix(return_path: str, rcpt: str, message_id: str, *, report_id: str = "<1@mx>") -> bytes:
    """Postfix's bounce: a user unknown at the next hop, the whole original attached."""
    original = ORIGINAL.format(return_path=return_path, rcpt=rcpt, message_id=message_id)
    return f"""Return-Path: <>
Received: by mx.example.com (Postfix) id 4Y1; Sun, 6 Dec 2026 20:00:05 +0000 (UTC)
Date: Sun, 6 Dec 2026 20:00:05 +0000 (UTC)
From: MAILER-DAEMON@mx.example.com (Mail Delivery System)
Subject: Undelivered Mail Returned to Sender
To: {return_path}
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
\tboundary="4Y1.1733515205/mx.example.com"
Message-Id: {report_id}

This is a MIME-encapsulated message.

--4Y1.1733515205/mx.example.com
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.com.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{rcpt}>: host mx2.example.com[192.0.2.10] said: 550 5.1.1
    <{rcpt}>: Recipient address rejected: User unknown in virtual
    mailbox table (in reply to RCPT TO command)

--4Y1.1733515205/mx.example.com
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.com
X-Postfix-Queue-ID: 4Y1
X-Postfix-Sender: rfc822; {return_path}
Arrival-Date: Sun,  6 Dec 2026 20:00:04 +0000 (UTC)

Final-Recipient: rfc822; {rcpt}
Original-Recipient: rfc822;{rcpt}
Action: failed
Status: 5.1.1
Remote-MTA: dns; mx2.example.com
Diagnostic-Code: smtp; 550 5.1.1 <{rcpt}>: Recipient address rejected: User
    unknown in virtual mailbox table

--4Y1.1733515205/mx.example.com
Content-Description: Undelivered Message
Content-Type: message/rfc822

{original}
--4Y1.1733515205/mx.example.com--
""".replace("\n", "\r\n").encode()


def exim(return_path: str, rcpt: str, message_id: str, *, action: str = "failed") -> bytes:
    """Exim's DSN for a full mailbox (4.2.2) it gave up on (or still retries: delayed),
    with the original's headers only."""
    original = ORIGINAL.format(return_path=return_path, rcpt=rcpt, message_id=message_id)
    headers = original.split("\n\n", 1)[0]
    return f"""Return-path: <>
Envelope-to: {return_path}
From: Mail Delivery System <Mailer-Daemon@mail.example.org>
To: {return_path}
Subject: {"Mail delivery failed" if action == "failed" else "Warning: message delayed"}
Message-Id: <E1tJ-0004-{action}@mail.example.org>
Date: Sun, 06 Dec 2026 20:10:00 +0000
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary=1733515800-eximdsn-42

--1733515800-eximdsn-42
Content-type: text/plain; charset=us-ascii

This message was created automatically by mail delivery software.

  {rcpt}
    Mailbox is full / Blocks limit exceeded / Inode limit exceeded

--1733515800-eximdsn-42
Content-type: message/delivery-status

Reporting-MTA: dns; mail.example.org

Action: {action}
Final-Recipient: rfc822;{rcpt}
Status: 4.2.2
X-Exim-Diagnostic: X-str; T=appendfile; mailbox is full (MTA-imposed quota exceeded
  while writing to tmp/1733515800.H1.mail.example.org)
{"Will-Retry-Until: Tue, 08 Dec 2026 20:10:00 +0000" if action == "delayed" else ""}
--1733515800-eximdsn-42
Content-type: text/rfc822-headers

{headers}
--1733515800-eximdsn-42--
""".replace("\n", "\r\n").encode()


def gmail(return_path: str, rcpt: str, message_id: str) -> bytes:
    """Gmail-style: a multipart/related human part, the report, no original attached."""
    return f"""Return-Path: <>
From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>
To: {return_path}
Auto-Submitted: auto-replied
Subject: Delivery Status Notification (Failure)
Message-ID: <6752ab.gmail@mx.google.com>
Date: Sun, 06 Dec 2026 12:20:00 -0800 (PST)
MIME-Version: 1.0
Content-Type: multipart/report; boundary="000000000000abcd"; report-type=delivery-status

--000000000000abcd
Content-Type: multipart/related; boundary="000000000000abce"

--000000000000abce
Content-Type: text/html; charset="UTF-8"

<html><body><h2>Address not found</h2><p>Your message wasn't delivered to <a>{rcpt}</a>
because the address couldn't be found.</p></body></html>

--000000000000abce--

--000000000000abcd
Content-Type: message/delivery-status

Reporting-MTA: dns; googlemail.com
Received-From-MTA: dns; mail-sor-f41.google.com
Arrival-Date: Sun, 06 Dec 2026 12:19:59 -0800 (PST)
X-Original-Message-ID: {message_id}

Final-Recipient: rfc822; {rcpt}
Action: failed
Status: 5.1.1
Remote-MTA: dns; gmail-smtp-in.l.google.com. (2607:f8b0:4004:c1b::1b, the server for
 the domain gmail.com.)
Diagnostic-Code: smtp; 550-5.1.1 The email account that you tried to reach does not exist.
 Please try double-checking the recipient's email address for typos or unnecessary spaces.
 For more information, go to https://support.google.com/mail/?p=NoSuchUser
Last-Attempt-Date: Sun, 06 Dec 2026 12:20:00 -0800 (PST)

--000000000000abcd--
""".replace("\n", "\r\n").encode()


def arf(return_path: str, rcpt: str, message_id: str, *, feedback_type: str = "abuse") -> bytes:
    """An abuse report (RFC 5965) as a mailbox provider's feedback loop sends it."""
    original = ORIGINAL.format(return_path=return_path, rcpt=rcpt, message_id=message_id)
    return f"""From: <staff@fbl.example.net>
Date: Sun, 06 Dec 2026 21:00:00 +0000
Subject: FW: Your receipt
To: {return_path}
Message-ID: <arf-1@fbl.example.net>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=feedback-report;
     boundary="part1_13d.2e68ed54_boundary"

--part1_13d.2e68ed54_boundary
Content-Type: text/plain; charset="US-ASCII"

This is an email abuse report for an email message received from IP
192.0.2.1 on Sun, 06 Dec 2026 20:00:00 +0000.

--part1_13d.2e68ed54_boundary
Content-Type: message/feedback-report

Feedback-Type: {feedback_type}
User-Agent: SomeGenerator/1.0
Version: 1
Original-Mail-From: <{return_path}>
Original-Rcpt-To: <{rcpt}>
Arrival-Date: Sun, 06 Dec 2026 20:00:00 +0000
Source-IP: 192.0.2.1
Reported-Domain: acme.test

--part1_13d.2e68ed54_boundary
Content-Type: message/rfc822
Content-Disposition: inline

{original}
--part1_13d.2e68ed54_boundary--
""".replace("\n", "\r\n").encode()


def auto_reply(return_path: str) -> bytes:
    return f"""From: Ann <ann@example.com>
To: {return_path}
Subject: Out of office
Auto-Submitted: auto-replied

I am away until Monday.
""".replace("\n", "\r\n").encode()
