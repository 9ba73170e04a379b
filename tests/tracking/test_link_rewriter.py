"""Open pixel and click-link rewriting on real-world shapes of email HTML."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest

from mailpass_common.messages.signed_links import TrackedClick, TrackedOpen, TrackingSigner
from mailpass_sender.link_rewriter import NO_TRACK_ATTRIBUTE, apply_tracking

BASE = "https://t.example.com"
MESSAGE_ID = "<abc.1700000000@mail.example.com>"
SIGNER = TrackingSigner("html-test-secret")


def track(html: str, *, opens: bool = True, clicks: bool = True) -> str:
    return apply_tracking(
        html, message_id=MESSAGE_ID, signer=SIGNER, base_url=BASE, opens=opens, clicks=clicks
    )


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str | None] = []
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            # The first of duplicated attributes wins, as in browsers.
            self.hrefs.append(next((v for k, v in attrs if k == "href"), None))
        elif tag == "img":
            self.images.append(dict(attrs))


def parse(html: str) -> _Collector:
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector


def clicks_in(html: str) -> list[TrackedClick]:
    found = []
    for href in parse(html).hrefs:
        if href and href.startswith(f"{BASE}/t/c/"):
            result = SIGNER.verify(href.removeprefix(f"{BASE}/t/c/"))
            assert isinstance(result, TrackedClick)
            found.append(result)
    return found


def test_links_are_rewritten_in_document_order() -> None:
    html = (
        '<p><a href="https://a.example/1">one</a> and '
        "<a href='http://b.example/2'>two</a> and <a href=https://c.example/3>three</a></p>"
    )
    out = track(html, opens=False)
    assert clicks_in(out) == [
        TrackedClick(MESSAGE_ID, 0, "https://a.example/1"),
        TrackedClick(MESSAGE_ID, 1, "http://b.example/2"),
        TrackedClick(MESSAGE_ID, 2, "https://c.example/3"),
    ]


@pytest.mark.parametrize(
    "link",
    [
        '<a href="mailto:help@example.com">mail us</a>',
        '<a href="tel:+15551234567">call</a>',
        '<a href="#section">jump</a>',
        '<a href="/relative/page">relative</a>',
        '<a href="{{ url }}">templated</a>',
        '<a href="https://example.com/unsubscribe?u=1">leave</a>',
        '<a href="https://example.com/prefs?u=1">UnSubscribe here</a>',
        '<a href="https://example.com/prefs?u=1"><b>Un</b><span>subscribe</span></a>',
        f'<a {NO_TRACK_ATTRIBUTE} href="https://example.com/private">secret</a>',
        f'<a href="https://example.com/private" {NO_TRACK_ATTRIBUTE}="">secret</a>',
        '<a name="top">no href</a>',
        "<a href>empty</a>",
        '<!-- <a href="https://example.com/commented">x</a> -->',
        '<!--[if mso]><a href="https://example.com/mso">x</a><![endif]-->',
        "<script>var s = '<a href=\"https://example.com/js\">x</a>';</script>",
        '<style>/* <a href="https://example.com/css">x</a> */</style>',
        '<title><a href="https://example.com/title">x</a></title>',
        '<TEXTAREA><a href="https://example.com/textarea">x</a></TEXTAREA>',
        "<?php echo \"<a href='https://example.com/pi'\"; ?>",
    ],
)
def test_untracked_links_are_left_byte_identical(link: str) -> None:
    html = f'<div>{link}<a href="https://tracked.example/">t</a></div>'
    out = track(html, opens=False)
    assert out.startswith(f"<div>{link}<a href=")
    assert clicks_in(out) == [TrackedClick(MESSAGE_ID, 0, "https://tracked.example/")]


def test_entities_in_hrefs_are_decoded_before_signing() -> None:
    html = '<a href="https://example.com/p?a=1&amp;b=2&#38;c=%20x">go</a>'
    assert clicks_in(track(html)) == [
        TrackedClick(MESSAGE_ID, 0, "https://example.com/p?a=1&b=2&c=%20x")
    ]


def test_legacy_entities_followed_by_equals_are_kept_as_browsers_keep_them() -> None:
    # "&copy" is a legacy entity: html.unescape turns "&copy=2" into "©=2", a browser
    # (in an attribute) does not.
    html = '<a href="https://example.com/p?a=1&copy=2&amp;reg=3">go</a>'
    assert clicks_in(track(html)) == [
        TrackedClick(MESSAGE_ID, 0, "https://example.com/p?a=1&copy=2&reg=3")
    ]


def test_a_tag_left_open_at_the_end_swallows_the_rest() -> None:
    # An unclosed quote or tag at the end of the input is not markup (the HTML standard
    # drops it): links before it are tracked, nothing after it is.
    html = '<a href="https://example.com/1">x</a><a href="https://example.com/2'
    out = track(html, opens=False)
    assert clicks_in(out) == [TrackedClick(MESSAGE_ID, 0, "https://example.com/1")]
    assert out.endswith('<a href="https://example.com/2')


def test_hrefs_are_trimmed_like_a_browser_would() -> None:
    html = '<a href="  https://example.com/a\n/b\t ">go</a><a href="HTTPS://EXAMPLE.com/">up</a>'
    assert clicks_in(track(html)) == [
        TrackedClick(MESSAGE_ID, 0, "https://example.com/a/b"),
        TrackedClick(MESSAGE_ID, 1, "HTTPS://EXAMPLE.com/"),
    ]


def test_everything_but_the_href_values_is_byte_identical() -> None:
    html = (
        "<table ><tr><td CLASS=x>Price: 5 &lt; 6 &amp; caf&eacute;\n"
        '<A HREF="https://example.com/x?a=1&amp;b=2" Style="color:red" target=_blank>'
        "Buy &amp; save</A></td></tr></table>\n<p>unclosed"
    )
    out = track(html, opens=False)
    prefix, _, rest = html.partition('HREF="')
    _, _, suffix = rest.partition('"')
    assert out.startswith(prefix + 'HREF="' + f"{BASE}/t/c/")
    assert out.endswith('"' + suffix)
    assert clicks_in(out) == [TrackedClick(MESSAGE_ID, 0, "https://example.com/x?a=1&b=2")]


def test_unquoted_href_becomes_quoted() -> None:
    out = track("<a href=https://example.com/x class=btn>go</a>", opens=False)
    assert out.startswith(f'<a href="{BASE}/t/c/')
    assert out.endswith('" class=btn>go</a>')


def test_duplicate_href_only_first_counts() -> None:
    out = track('<a href="https://one.example/" href="https://two.example/">x</a>', opens=False)
    assert clicks_in(out) == [TrackedClick(MESSAGE_ID, 0, "https://one.example/")]
    assert 'href="https://two.example/"' in out


def test_unsignable_link_is_left_alone_and_not_counted() -> None:
    html = '<a href="https:///no-host">bad</a><a href="https://ok.example/">ok</a>'
    out = track(html, opens=False)
    assert out.startswith('<a href="https:///no-host">bad</a>')
    assert clicks_in(out) == [TrackedClick(MESSAGE_ID, 0, "https://ok.example/")]


def _pixel() -> str:
    src = SIGNER.open_url(BASE, MESSAGE_ID)
    return (
        f'<img src="{src}" width="1" height="1" alt="" '
        'style="display:none;border:0;width:1px;height:1px" />'
    )


def test_pixel_goes_just_before_the_closing_body_of_a_document() -> None:
    html = (
        "<!DOCTYPE html>\n<html><head><title>x</title></head>\n"
        "<BODY><p>Hello</p>\n</BODY>\n</html>\n"
    )
    out = track(html)
    assert out == html.replace("</BODY>", _pixel() + "</BODY>")
    (image,) = parse(out).images
    assert SIGNER.verify(str(image["src"]).removeprefix(f"{BASE}/t/o/")) == TrackedOpen(MESSAGE_ID)


def test_pixel_goes_before_the_last_body_end_tag() -> None:
    html = "<body><p>x</p></body><!-- footer </body> in a comment -->\n</body>"
    out = track(html)
    assert out == html[: html.rindex("</body>")] + _pixel() + "</body>"


def test_pixel_goes_before_html_end_when_body_is_unclosed() -> None:
    html = "<html><body><p>x</p></html>"
    assert track(html) == "<html><body><p>x</p>" + _pixel() + "</html>"


def test_fragment_gets_the_pixel_at_the_end_and_no_wrappers() -> None:
    html = "<h1>Hi</h1>"
    out = track(html)
    assert out == "<h1>Hi</h1>" + _pixel()
    assert "<body" not in out and "<html" not in out and "<head" not in out


def test_clicks_only() -> None:
    html = '<h1>Hi</h1><a href="https://example.com/">x</a>'
    out = track(html, opens=False)
    assert parse(out).images == []
    assert len(clicks_in(out)) == 1


def test_opens_only() -> None:
    html = '<h1>Hi</h1><a href="https://example.com/">x</a>'
    out = track(html, clicks=False)
    assert out == html + _pixel()


def test_nothing_requested_returns_the_input_unchanged() -> None:
    html = '<a href="https://example.com/">x</a>'
    assert track(html, opens=False, clicks=False) == html


def test_crlf_and_multiline_documents_keep_offsets_right() -> None:
    html = (
        "<html>\r\n<body>\r\n<p>a</p>\r\n"
        '<a\r\n  class="b"\r\n  href="https://example.com/1">one</a>\r\n'
        '<a href="https://example.com/2">two</a>\r\n</body>\r\n</html>\r\n'
    )
    out = track(html)
    assert clicks_in(out) == [
        TrackedClick(MESSAGE_ID, 0, "https://example.com/1"),
        TrackedClick(MESSAGE_ID, 1, "https://example.com/2"),
    ]
    assert out.endswith("\r\n" + _pixel() + "</body>\r\n</html>\r\n")
    assert '<a\r\n  class="b"\r\n  href="' in out


def test_base_url_and_quotes_are_escaped_in_attributes() -> None:
    out = apply_tracking(
        '<a href="https://example.com/">x</a>',
        message_id=MESSAGE_ID,
        signer=SIGNER,
        base_url='https://t.example.com/a"b&c',
        opens=True,
        clicks=True,
    )
    assert '"b&c' not in out
    assert "a&quot;b&amp;c/t/c/" in out and "a&quot;b&amp;c/t/o/" in out
