"""The List-Unsubscribe headers as MailPass writes them into a message's MIME: signed
by MailPass's DKIM signer (verified with dkimpy over the tests' real DNS server), and the
signed token that names the account, message and recipient."""

from __future__ import annotations

import dkim as dkimpy

from mailpass_common.messages.signed_links import TrackingSigner
from mailpass_common.mta import dkim, signature
from mailpass_common.providers.delivery.base import OutgoingEmail
from mailpass_common.providers.delivery.mime import render
from mailpass_common.unsubscribe.links import (
    UnsubscribeLink,
    UnsubscribeSigner,
    list_unsubscribe,
)
from mailpass_dev.dns import Record
from tests.domains.support import dkimpy_dns, unique_domain
from tests.support.dns import TestDns

SECRET = "a-test-secret-of-at-least-32-bytes!!"
LINK = UnsubscribeLink("acc_1", "<m.1@mailpass.test>", "Ann@Example.com")


def test_the_token_names_the_link_and_nothing_else_verifies() -> None:
    signer = UnsubscribeSigner(SECRET)
    token = signer.token(LINK)
    assert signer.verify(token) == UnsubscribeLink(
        "acc_1", "<m.1@mailpass.test>", "ann@example.com"
    )
    assert signer.verify(token[:-2] + ("AA" if token[-2:] != "AA" else "AB")) is None
    assert signer.verify(TrackingSigner(SECRET).open_token("<m.1@mailpass.test>")) is None
    assert UnsubscribeSigner("another-secret-of-at-least-32-bytes!").verify(token) is None
    rotated = UnsubscribeSigner("the-next-secret-of-at-least-32-bytes", previous=[SECRET])
    assert rotated.verify(token) is not None  # links in mailboxes survive a rotation
    assert signer.verify("x" * 5000) is None and signer.verify(None) is None


def test_mailpass_dkim_signs_both_headers_and_a_changed_link_breaks_it(dns: TestDns) -> None:
    domain = unique_domain()
    signer = UnsubscribeSigner(SECRET)
    url = signer.url("https://t.example.com", LINK)
    value = list_unsubscribe(url, "unsubscribe@mail.example.com", signer.token(LINK))
    email = OutgoingEmail(
        message_id="<m.1@mailpass.test>",
        from_email=f"news@{domain}",
        from_name="News",
        to="ann@example.com",
        subject="Hello",
        text="Hi",
        list_unsubscribe=value,
    )
    mime = render(email)
    head = mime.split(b"\r\n\r\n", 1)[0]
    assert f"\r\nList-Unsubscribe: <{url}>,\r\n <mailto:".encode() in head
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in head
    assert max(len(line) for line in head.split(b"\r\n")) <= 998

    key = dkim.generate_key(dkim.Algorithm.ED25519)
    selector = "mp1"
    dns.add_records(
        [
            Record(
                dkim.record_name(selector, domain),
                "TXT",
                dkim.record_value(key.algorithm, key.public_key),
            )
        ]
    )
    signed = signature.sign(mime, domain, [dkim.DkimKey(selector, key.algorithm, key.private_key)])
    dnsfunc = dkimpy_dns(dns.nameserver)
    verifier = dkimpy.DKIM(signed)
    assert verifier.verify(dnsfunc=dnsfunc)
    fields = dict(verifier.signature_fields)
    covered = [name.strip() for name in fields[b"h"].lower().split(b":")]
    assert b"list-unsubscribe" in covered and b"list-unsubscribe-post" in covered
    tampered = signed.replace(b"https://t.example.com/", b"https://evil.example/", 1)
    assert not dkimpy.DKIM(tampered).verify(dnsfunc=dnsfunc)
