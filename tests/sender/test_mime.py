"""The MIME the sender builds, read back by the stdlib's strict parser."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage, MIMEPart

import pytest

from mailpass_common.providers.delivery.base import OutgoingEmail
from mailpass_common.providers.delivery.mime import needs_smtputf8, render, wire_address


def email(**overrides: object) -> OutgoingEmail:
    fields: dict[str, object] = {
        "message_id": "<abc.1706600000@mailpass.test>",
        "from_email": "support@yourdomain.com",
        "from_name": "Your App",
        "to": "user@example.com",
        "subject": "Order Confirmation",
        "html": "<h1>Confirmed</h1>",
        "text": "Confirmed",
        "cc": ("cc@example.com", "cc2@example.com"),
        "bcc": ("bcc@example.com",),
        "reply_to": "reply@yourdomain.com",
        "tags": ("order", "confirmation"),
    }
    fields.update(overrides)
    return OutgoingEmail(**fields)  # type: ignore[arg-type]


def content(part: MIMEPart) -> str:
    """A part's decoded text with the wire's CRLF line ends read as newlines."""
    return str(part.get_content()).replace("\r\n", "\n")


def reparse(e: OutgoingEmail) -> EmailMessage:
    msg = message_from_bytes(render(e), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg.defects == [] and all(p.defects == [] for p in msg.walk())
    return msg


def test_both_bodies_make_multipart_alternative_text_first() -> None:
    msg = reparse(email())
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    text, html = (content(p) for p in msg.iter_parts())
    assert text == "Confirmed" and html == "<h1>Confirmed</h1>"


def test_headers_and_bcc_only_in_envelope() -> None:
    e = email()
    msg = reparse(e)
    assert msg["Message-ID"] == "<abc.1706600000@mailpass.test>"
    assert msg["From"] == "Your App <support@yourdomain.com>"
    assert msg["To"] == "user@example.com"
    assert msg["Cc"] == "cc@example.com, cc2@example.com"
    assert msg["Reply-To"] == "reply@yourdomain.com"
    assert msg["X-MailPass-Tags"] == "order, confirmation"
    assert msg["MIME-Version"] == "1.0"
    assert msg["Bcc"] is None and b"bcc@example.com" not in render(e)
    assert msg["Date"] is not None
    assert e.recipients == [
        "user@example.com",
        "cc@example.com",
        "cc2@example.com",
        "bcc@example.com",
    ]


def test_every_line_ends_in_crlf_and_stays_short() -> None:
    raw = render(email(subject="word " * 60, html="<p>" + "x" * 5000 + "</p>", text="é" * 3000))
    assert b"\n" not in raw.replace(b"\r\n", b"")
    assert max(len(line) for line in raw.split(b"\r\n")) <= 998
    header = raw.split(b"\r\n\r\n", 1)[0]
    assert max(len(line) for line in header.split(b"\r\n")) <= 78


def test_single_body_is_not_multipart() -> None:
    html_only = reparse(email(text=None))
    assert html_only.get_content_type() == "text/html"
    text_only = reparse(email(html=None))
    assert text_only.get_content_type() == "text/plain"
    assert text_only.get_content().strip() == "Confirmed"


def test_from_without_name_and_non_ascii_subject_and_name_are_encoded() -> None:
    msg = reparse(email(from_name=None, subject="Bestätigung ✓", cc=(), reply_to=None))
    assert msg["From"] == "support@yourdomain.com"
    assert msg["Subject"] == "Bestätigung ✓"
    assert msg["Cc"] is None and msg["Reply-To"] is None
    named = render(email(from_name="Café Ünïcode"))
    assert b"=?utf-8?" in named  # RFC 2047 encoded word, never raw 8-bit in a header
    assert reparse(email(from_name="Café Ünïcode"))["From"].addresses[0].display_name == (
        "Café Ünïcode"
    )


@pytest.mark.parametrize(
    "name", ["ACME, Inc.", 'The "Best" Shop', "back\\slash", "Dr. Who (Tardis)", "a:b;c@d"]
)
def test_display_names_with_specials_are_quoted(name: str) -> None:
    [address] = reparse(email(from_name=name))["From"].addresses
    assert address.display_name == name and address.addr_spec == "support@yourdomain.com"


def test_long_and_non_ascii_subjects_survive_folding() -> None:
    long_subject = " ".join(f"word{i}" for i in range(60))
    assert reparse(email(subject=long_subject))["Subject"] == long_subject
    mixed = "Ihre Bestellung Nr. 12345 ist unterwegs — Lieferung voraussichtlich Dienstag " * 3
    assert reparse(email(subject=mixed.strip()))["Subject"] == mixed.strip()


def test_bodies_are_quoted_printable_when_not_plain_ascii() -> None:
    text = "Grüße aus Köln\nline two =3D stays as typed\n" + "long " * 300
    raw = render(email(text=text, html=None))
    assert b"Content-Transfer-Encoding: quoted-printable" in raw
    assert content(reparse(email(text=text, html=None))) == text
    plain = render(email(text="short ascii", html=None))
    assert b"Content-Transfer-Encoding: 7bit" in plain


def test_bare_cr_and_lf_in_bodies_become_crlf() -> None:
    msg = reparse(email(text="a\rb\nc\r\nd", html=None))
    assert content(msg) == "a\nb\nc\nd"


def test_international_domains_are_idna_in_headers() -> None:
    e = email(to="user@bücher.example", cc=(), reply_to=None)
    assert wire_address(e.to) == "user@xn--bcher-kva.example"
    raw = render(e)
    assert b"To: user@xn--bcher-kva.example" in raw
    assert not needs_smtputf8(e)
    assert needs_smtputf8(email(to="jösé@example.com"))


@pytest.mark.parametrize(
    "bad", ["line\u2028sep", "para\u2029sep", "nel\x85x", "ctrl\x01x", "cr\rx"]
)
def test_a_character_that_cannot_go_into_a_header_is_refused(bad: str) -> None:
    with pytest.raises(ValueError, match="cannot go into a header"):
        render(email(subject=bad))
    with pytest.raises(ValueError, match="cannot go into a header"):
        render(email(from_name=bad))


def test_the_boundary_never_occurs_in_a_part() -> None:
    raw = render(email())
    boundary = re.search(rb'boundary="([^"]+)"', raw)
    assert boundary is not None
    assert raw.count(b"--" + boundary.group(1)) == 3  # two parts and the close
