"""The chaos sink's failure decisions and the tally's reasons, without a stack."""

from __future__ import annotations

from mailpass_dev.chaos.accounting import reason
from mailpass_dev.chaos.load import recipient
from mailpass_dev.chaos.sink import fails_transaction, message_id_of, refused_recipient


def test_one_recipient_in_a_hundred_is_refused_every_time() -> None:
    addresses = [recipient("b", r, n) for r in range(100) for n in range(100)]
    refused = [a for a in addresses if refused_recipient(1, a, 0.01)]
    assert 70 < len(refused) < 130
    assert all(refused_recipient(1, a.upper(), 0.01) for a in refused)  # by address alone
    assert {a for a in addresses if refused_recipient(2, a, 0.01)} != set(refused)


def test_a_fifth_of_transactions_fail_and_each_retry_is_a_new_draw() -> None:
    ids = [f"<{n:024x}.1@mailpass.local>" for n in range(5000)]
    first = [i for i in ids if fails_transaction(1, i, 0, 0.2)]
    assert 850 < len(first) < 1150
    again = [i for i in first if fails_transaction(1, i, 1, 0.2)]
    assert 120 < len(again) < 280  # independent of the first draw
    assert fails_transaction(1, first[0], 0, 0.2)  # deterministic


def test_the_message_id_is_read_from_the_headers_only() -> None:
    content = (
        b"From: a@example.com\r\nMessage-ID: <abc.1@mailpass.local>\r\n\r\n"
        b"Message-ID: <not-this@x>\r\n"
    )
    assert message_id_of(content) == "<abc.1@mailpass.local>"
    assert message_id_of(b"Subject: none\r\n\r\nbody") is None


def test_failure_reasons_group_without_addresses() -> None:
    a = reason("550 chaos-b00001-002@example.com: 5.1.1 Mailbox unavailable (chaos)")
    b = reason("550 chaos-s00007-000@example.com: 5.1.1 Mailbox unavailable (chaos)")
    assert a == b == "550 <rcpt>: 5.1.1 Mailbox unavailable (chaos)"
    assert reason(None) == "no error recorded"
