"""Never an open relay: every recipient but a return path MailPass signed for a stored
message is refused at RCPT, and nothing is recorded."""

from __future__ import annotations

import secrets
import smtplib

from mailpass_common.messages.ids import new_message_id
from mailpass_common.mta import verp
from tests.inbound.conftest import DOMAIN, MESSAGE_ID_DOMAIN, Inbound


def rcpt(inbound: Inbound, address: str) -> tuple[int, str]:
    with smtplib.SMTP("127.0.0.1", inbound.smtp_port, timeout=10) as client:
        client.ehlo("mx.example.com")
        assert client.mail("")[0] == 250
        code, text = client.rcpt(address)
        return code, text.decode()


def altered(address: str) -> str:
    """The same address with one character of its tag changed (not the last: its low
    bits are base32's padding)."""
    local, _, domain = address.partition("@")
    other = "a" if local[-5] != "a" else "b"
    return f"{local[:-5]}{other}{local[-4:]}@{domain}"


async def test_only_signed_return_paths_of_stored_messages_are_accepted(
    inbound: Inbound,
) -> None:
    message_id = await inbound.sent_message(f"acc_{secrets.token_hex(4)}", "ann@example.com")
    good = inbound.return_path(message_id)
    never_stored = verp.make(new_message_id(MESSAGE_ID_DOMAIN), DOMAIN, inbound.key)
    other_key = verp.make(message_id, DOMAIN, verp.keys_from_secrets("another secret")[0])

    assert rcpt(inbound, good)[0] == 250
    assert rcpt(inbound, good.upper())[0] == 250  # some MTAs fold the case
    refused = {
        "ann@example.com": "5.7.1",  # another domain: never a relay
        good.replace(DOMAIN, "example.com"): "5.7.1",
        f"postmaster@{DOMAIN}": "5.1.1",
        f"b{'a' * 39}@{DOMAIN}": "5.1.1",  # the shape, not a token
        altered(good): "5.1.1",  # forged or altered
        never_stored: "5.1.1",
        other_key: "5.1.1",  # signed, but not by this installation
    }
    for address, status in refused.items():
        code, text = rcpt(inbound, address)
        assert (code, text[:5]) == (550, status), address

    metrics = await inbound.metrics()
    for reason in ("other_domain", "not_a_return_path", "unknown_message"):
        assert f'mailpass_inbound_refused_total{{reason="{reason}"}}' in metrics


async def test_a_whole_transaction_to_an_unsigned_address_is_refused(inbound: Inbound) -> None:
    with smtplib.SMTP("127.0.0.1", inbound.smtp_port, timeout=10) as client:
        try:
            client.sendmail("", [f"bounce@{DOMAIN}"], b"Subject: hi\r\n\r\nhello\r\n")
        except smtplib.SMTPRecipientsRefused as exc:
            assert exc.recipients[f"bounce@{DOMAIN}"][0] == 550
        else:
            raise AssertionError("an unsigned recipient was accepted")
