from __future__ import annotations

from email import message_from_bytes, policy

from mailpass_common.delivery.base import OutgoingEmail
from mailpass_common.delivery.mime import build_mime


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


def reparse(e: OutgoingEmail):  # type: ignore[no-untyped-def]
    return message_from_bytes(build_mime(e).as_bytes(), policy=policy.default)


def test_both_bodies_make_multipart_alternative_text_first() -> None:
    msg = reparse(email())
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]


def test_headers_and_bcc_only_in_envelope() -> None:
    e = email()
    msg = reparse(e)
    assert msg["Message-ID"] == "<abc.1706600000@mailpass.test>"
    assert msg["From"] == "Your App <support@yourdomain.com>"
    assert msg["To"] == "user@example.com"
    assert msg["Cc"] == "cc@example.com, cc2@example.com"
    assert msg["Reply-To"] == "reply@yourdomain.com"
    assert msg["Bcc"] is None and b"bcc@example.com" not in build_mime(e).as_bytes()
    assert msg["Date"] is not None
    assert e.recipients == [
        "user@example.com",
        "cc@example.com",
        "cc2@example.com",
        "bcc@example.com",
    ]


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
    named = build_mime(email(from_name="Café Ünïcode")).as_bytes()
    assert b"=?utf-8?" in named  # RFC 2047 encoded word, never raw 8-bit in a header
    assert (
        reparse(email(from_name="Café Ünïcode"))["From"].addresses[0].display_name == "Café Ünïcode"
    )
