"""The single-pass HTML locator: linear time on hostile input, a budget, and the same
anchors a browser's HTML5 parser finds."""

from __future__ import annotations

import random
import time

import pytest
from selectolax.lexbor import LexborHTMLParser

from mailpass_common.messages.signed_links import TrackingSigner
from mailpass_sender.html_locator import BudgetExceeded, attribute_value, locate
from mailpass_sender.link_rewriter import apply_tracking

SIGNER = TrackingSigner("html-test-secret")

# Shapes that made the stdlib HTMLParser quadratic (64 KiB of "<a" took 3 to 8 s), and
# the worst cases of this tokenizer (a tag or a link every few characters).
HOSTILE_UNITS = [
    "<a",
    "<a href='",
    '<a href="',
    "<!--",
    "<!---->",
    "<a ",
    "<a b=c ",
    "</a",
    "<?",
    "<a href=http://x>",
    "<a href=https://x.example/p>x</a>",
    "<a href='&amp;",
    "<script><a href=x>",
]


def _hostile(unit: str, size: int) -> str:
    return unit * (size // len(unit))


@pytest.mark.parametrize("unit", HOSTILE_UNITS)
def test_hostile_bodies_are_rewritten_in_linear_time(unit: str) -> None:
    # Growth, not speed: eight times the input must cost about eight times the time, on
    # a fast machine or a slow one. Each size is timed three times, in turns, and the
    # fastest kept, so a slow moment of the machine does not pass for growth.
    timings = {64 * 1024: float("inf"), 512 * 1024: float("inf")}
    for _ in range(3):
        for size in timings:
            html = _hostile(unit, size)
            started = time.perf_counter()
            apply_tracking(
                html,
                message_id="<x.1@example.com>",
                signer=SIGNER,
                base_url="https://t.example.com",
                opens=True,
                clicks=True,
            )
            timings[size] = min(timings[size], time.perf_counter() - started)
    growth = timings[512 * 1024] / timings[64 * 1024]
    print(f"{unit!r}: 64 KiB {timings[64 * 1024]:.3f} s, 512 KiB {timings[512 * 1024]:.3f} s")
    # Linear code grows about 8x (measured 0.35 s at worst for 512 KiB, 30,000 links
    # signed); quadratic code 64x, and takes seconds at 64 KiB already (3 to 8 s for the
    # stdlib parser). The margins are for a busy machine.
    # Under 50 ms for 512 KiB is no quadratic code, and too quick to time closely.
    quick = timings[512 * 1024] < 0.05
    assert quick or growth < 24, f"512 KiB took {growth:.1f}x the time of 64 KiB"
    assert timings[64 * 1024] < 1.0


def test_a_deadline_stops_the_scan() -> None:
    html = _hostile("<a b=c ", 512 * 1024)
    with pytest.raises(BudgetExceeded):
        locate(html, deadline=time.perf_counter())
    # Without a deadline (or before it) the same input goes through.
    assert locate(html, deadline=time.perf_counter() + 30).anchors == []


def test_the_deadline_also_covers_signing() -> None:
    html = _hostile("<a href=http://x>", 256 * 1024)
    with pytest.raises(BudgetExceeded):
        apply_tracking(
            html,
            message_id="<x.1@example.com>",
            signer=SIGNER,
            base_url="https://t.example.com",
            opens=False,
            clicks=True,
            deadline=time.perf_counter(),
        )


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [
        ("https://e.com/?a=1&amp;b=2", "https://e.com/?a=1&b=2"),
        ("https://e.com/?a=1&copy=2", "https://e.com/?a=1&copy=2"),
        ("https://e.com/?a=1&copy;=2", "https://e.com/?a=1©=2"),
        ("https://e.com/?a=1&copyx", "https://e.com/?a=1&copyx"),
        ("https://e.com/?a&copy-x", "https://e.com/?a©-x"),
        ("https://e.com/?a=1&notin;", "https://e.com/?a=1∉"),
        ("https://e.com/?a=1&notit;", "https://e.com/?a=1&notit;"),
        ("https://e.com/&#38;&#x26;&#128;", "https://e.com/&&€"),
        ("https://e.com/&unknown;", "https://e.com/&unknown;"),
        ("https://e.com/&", "https://e.com/&"),
    ],
)
def test_attribute_values_are_decoded_as_browsers_do(raw: str, decoded: str) -> None:
    assert attribute_value(raw) == decoded


# Fragments that combine into the shapes tokenizers disagree on: quotes in and out of
# values, comments opened and closed every way, raw text elements, bogus comments.
PIECES = [
    '<a href="https://x.example/1">',
    "<a href='https://x.example/2'>",
    "<a href=https://x.example/3>",
    "</a>",
    "<!--",
    "-->",
    "<!-- c -->",
    "<!--->",
    "<!-->",
    "--!>",
    "<script>",
    "</script>",
    "<style>",
    "</style>",
    "<title>",
    "</title>",
    "<textarea>",
    "</textarea>",
    '"',
    "'",
    "=",
    " ",
    ">",
    "<",
    "</",
    "<p>",
    "</p>",
    "<A HREF='https://x.example/4' href='https://x.example/5'>",
    "<a title='>' href=https://x.example/6>",
    "&amp;",
    "<a href='https://x.example/7?a=1&copy=2'>",
    "<a href='https://x.example/8?a=1&amp;b'>",
    "<!DOCTYPE html>",
    "<?x ?>",
    "<![if mso]>",
    "<![endif]>",
    "text",
    "<br/>",
    "<a/href=https://x.example/9>",
    "<a href\n=\n'https://x.example/10'>",
    "<a href=https://x.example/11/>",
    "</a foo='>'>",
]


def _runs(values: list[str | None]) -> list[str | None]:
    """Consecutive repeats collapsed: a tree builder re-opens an unclosed <a> (the
    standard's active formatting elements), a tokenizer sees it once."""
    return [v for i, v in enumerate(values) if i == 0 or values[i - 1] != v]


def test_the_anchors_found_are_those_an_html5_parser_builds() -> None:
    rng = random.Random(14)
    for _ in range(3000):
        html = "".join(rng.choice(PIECES) for _ in range(rng.randint(1, 12)))
        ours = [anchor.href for anchor in locate(html).anchors]
        theirs = [node.attributes.get("href") for node in LexborHTMLParser(html).css("a")]
        assert _runs(ours) == _runs(theirs), html
