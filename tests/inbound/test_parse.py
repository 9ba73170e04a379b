"""Reading reports as servers send them, odd shapes included, within the bounds."""

from __future__ import annotations

import base64

import pytest

from mailpass_inbound.reports import (
    MAX_FIELD_CHARS,
    MAX_RECIPIENTS,
    DeliveryReport,
    FeedbackReport,
    UnreadableReport,
    parse_report,
)
from tests.inbound import samples


def report(status_part: str, *, encoding: str = "") -> bytes:
    header = f"Content-Transfer-Encoding: {encoding}\r\n" if encoding else ""
    body = base64.encodebytes(status_part.encode()).decode() if encoding else status_part
    return (
        "Content-Type: multipart/report; report-type=delivery-status; boundary=x\r\n\r\n"
        f"--x\r\nContent-Type: message/delivery-status\r\n{header}\r\n{body}\r\n--x--\r\n"
    ).encode()


def test_the_real_world_shapes_read_alike() -> None:
    for build in (samples.postfix, samples.gmail):
        found = parse_report(build("b@x.test", "ann@example.com", "<m@x>"))
        assert isinstance(found, DeliveryReport)
        (rcpt,) = found.recipients
        assert (rcpt.final_recipient, rcpt.action, rcpt.status, rcpt.hard) == (
            "ann@example.com",
            "failed",
            "5.1.1",
            True,
        )
        assert rcpt.diagnostic.startswith("550") and "\n" not in rcpt.diagnostic
    exim = parse_report(samples.exim("b@x.test", "bob@example.org", "<m@x>"))
    assert isinstance(exim, DeliveryReport)
    assert exim.recipients[0].status == "4.2.2" and not exim.recipients[0].hard
    assert "mailbox is full" in exim.recipients[0].diagnostic
    arf = parse_report(samples.arf("b@x.test", "carol@example.net", "<m@x>"))
    assert isinstance(arf, FeedbackReport) and arf.complaint
    assert arf.original_recipients == ("carol@example.net",)


def test_an_encoded_part_without_a_per_message_block_and_a_status_only_in_the_reply() -> None:
    part = (
        "Final-Recipient: rfc822; a@example.com\r\nAction: failed\r\n"
        "Diagnostic-Code: smtp; 550 5.2.1 mailbox disabled\r\n\r\n"
        "Final-Recipient: rfc822; b@example.com\r\nAction: Delayed\r\nStatus: 4.4.7\r\n"
    )
    found = parse_report(report(part, encoding="base64"))
    assert isinstance(found, DeliveryReport)
    assert [(r.final_recipient, r.action, r.status) for r in found.recipients] == [
        ("a@example.com", "failed", "5.2.1"),
        ("b@example.com", "delayed", "4.4.7"),
    ]


def test_bounds_on_recipients_and_field_lengths() -> None:
    blocks = "".join(
        f"Final-Recipient: rfc822; u{i}@example.com\r\nAction: failed\r\nStatus: 5.1.1\r\n"
        f"Diagnostic-Code: smtp; 550 {'x' * 5000}\r\n\r\n"
        for i in range(MAX_RECIPIENTS + 50)
    )
    found = parse_report(report("Reporting-MTA: dns; mx\r\n\r\n" + blocks))
    assert isinstance(found, DeliveryReport)
    assert len(found.recipients) == MAX_RECIPIENTS
    assert all(len(r.diagnostic) <= MAX_FIELD_CHARS for r in found.recipients)


@pytest.mark.parametrize(
    "raw",
    [
        b"Subject: out of office\r\n\r\nAway.\r\n",
        b"Content-Type: multipart/report; report-type=disposition-notification; boundary=x\r\n"
        b"\r\n--x--\r\n",
        b"\xff\xfe garbage \x00\r\n\r\n",
    ],
)
def test_what_is_no_report_is_none(raw: bytes) -> None:
    assert parse_report(raw) is None


def test_a_report_naming_no_address_is_unreadable() -> None:
    with pytest.raises(UnreadableReport):
        parse_report(report("Final-Recipient: rfc822; not an address\r\nAction: failed\r\n"))
