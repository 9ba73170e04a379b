"""Domain names as tenants type them: what is accepted, in which form, and what is refused."""

from __future__ import annotations

import pytest

from mailpass_common.mta.names import DomainNameError, normalize_domain, unicode_name


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Example.COM", "example.com"),
        (" mail.example.com. ", "mail.example.com"),
        ("Bücher.example", "xn--bcher-kva.example"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("faß.de", "xn--fa-hia.de"),  # IDNA 2008: ß is kept, not mapped to ss
        ("例え.テスト", "xn--r8jz45g.xn--zckzah"),
        ("a-b.c-d.example", "a-b.c-d.example"),
    ],
)
def test_accepted_names_in_their_ascii_form(text: str, expected: str) -> None:
    assert normalize_domain(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "localhost",
        "192.0.2.1",
        "[2001:db8::1]",
        "user@example.com",
        "https://example.com",
        "example.com/path",
        "example.com:25",
        "exa mple.com",
        "-bad.example",
        "bad-.example",
        "_dmarc.example.com",
        "a..example",
        "example.123",
        "a" * 64 + ".example",
        ".".join(["abcdefghi"] * 30) + ".example",
        "x" * 400,
        "xn--zz.example",
        "☃\u200d.example",
    ],
)
def test_refused_names_say_why(text: str) -> None:
    with pytest.raises(DomainNameError) as refused:
        normalize_domain(text)
    assert str(refused.value)


def test_unicode_form() -> None:
    assert unicode_name("xn--bcher-kva.example") == "bücher.example"
    assert unicode_name("example.com") == "example.com"
