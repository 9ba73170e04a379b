"""Domain names as tenants type them: what is accepted, in which form, and what is refused;
the README's bounds checked against the code."""

from __future__ import annotations

import pytest

from mailpass_common.mta import dkim, domains, lookup, resolver
from mailpass_common.mta.names import DomainNameError, normalize_domain, unicode_name
from tests.support.readme import readme_text


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


def test_the_readme_states_the_bounds_the_code_has() -> None:
    text = " ".join(readme_text().split())
    resolver_bounds = (
        f"({resolver.TIMEOUT_SECONDS:g} s a try, {resolver.LIFETIME_SECONDS:g} s in all)"
    )
    assert resolver_bounds in text
    assert f"at most {lookup.MAX_RECORDS} records read per name" in text
    assert f"and {lookup.MAX_TXT_CHARS:,} characters per TXT record" in text
    assert f"an account has at most {domains.MAX_DOMAINS_PER_ACCOUNT} domains" in text
    assert f"RSA {dkim.RSA_BITS}" in text
