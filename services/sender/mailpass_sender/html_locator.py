"""Finds the ``<a>`` start tags and the closing ``</body>`` / ``</html>`` of an HTML
document in one forward pass, in time linear in its length.

The link rewriter needs locations, not a tree: where each ``<a>`` tag sits, its ``href``
value (its span in the source, and the value a browser reads), its attribute names and
its text, and where the last ``</body>`` and ``</html>`` are. This module follows the
states of the WHATWG HTML tokenizer that decide those (data, tag open, tag and attribute
names, the three kinds of attribute values, comments, bogus comments, raw text and
RCDATA elements), and nothing else.

Why not the stdlib ``HTMLParser``: on malformed input (``"<a" * n``, unclosed attribute
quotes) it rescans the rest of the document at every ``<``, quadratic time: 64 KiB took
seconds and 512 KiB minutes, blocking the sender's event loop. Here every position is
looked at a bounded number of times:

- the scan only moves forward, and each step consumes at least one character;
- character runs are matched with possessive quantifiers (``*+``), which never backtrack;
- a search for a terminator (``>``, ``-->``, a closing quote, ``</script``) that finds
  none means the input ends inside that construct, which per the standard swallows the
  rest of the document: the scan stops there, so no search covers the same tail twice.

A deadline is checked as the scan goes (:class:`BudgetExceeded`): linear time still
grows with the input, and a document that cannot be scanned in budget is sent untracked.
"""

from __future__ import annotations

import contextlib
import re
import string
import time
from dataclasses import dataclass, field
from html import unescape
from html.entities import html5

# Tag names run to whitespace, "/" or ">": per the standard "<a<a<a" is one tag "a<a<a".
_TAG_NAME = re.compile(r"[^\t\n\f\r />]*+")
# One attribute: separators, a name (whose first character may be "="), then spaces and
# "=" when a value follows. Group 1: the name; group 2: "=" when a value follows.
_ATTRIBUTE = re.compile(
    r"[\t\n\f\r /]*+(?:([^\t\n\f\r />][^\t\n\f\r />=]*+)[\t\n\f\r ]*+(=)?[\t\n\f\r ]*+)?"
)
_UNQUOTED_VALUE = re.compile(r"[^\t\n\f\r >]*+")
_COMMENT_END = re.compile(r"--!?>")
# Elements whose content is text up to their end tag, never markup (the standard's raw
# text and RCDATA elements); <plaintext> never ends.
_TEXT_ONLY = {
    name: re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE)
    for name in ("script", "style", "xmp", "iframe", "noembed", "noframes", "title", "textarea")
}
_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
_CHECK_EVERY = 256  # steps between two looks at the clock


class BudgetExceeded(Exception):
    """The document could not be scanned before the deadline."""


class _EndOfInput(Exception):
    """The input ends inside a tag, comment or quoted value: the rest is not markup."""


Span = tuple[int, int, bool]  # (start, end, quoted) of an attribute value in the source


@dataclass
class Anchor:
    """One ``<a>`` start tag."""

    start: int  # offset of "<a" in the source
    href_span: Span | None  # the first href's value; None when the tag has no href
    href: str | None  # that value decoded as a browser reads it
    attribute_names: frozenset[str]
    text: list[str] = field(default_factory=list)


@dataclass
class Located:
    anchors: list[Anchor] = field(default_factory=list)
    body_end: int | None = None  # offset of the last "</body"
    html_end: int | None = None  # offset of the last "</html"


class _Clock:
    """Counts steps and looks at the time every few hundred of them."""

    def __init__(self, deadline: float | None) -> None:
        self._deadline = deadline
        self._steps = 0

    def tick(self) -> None:
        self._steps += 1
        if (
            self._deadline is not None
            and self._steps % _CHECK_EVERY == 0
            and time.perf_counter() > self._deadline
        ):
            raise BudgetExceeded


def _run(pattern: re.Pattern[str], html: str, pos: int) -> re.Match[str]:
    """A match of a pattern made only of optional runs, which always matches."""
    match = pattern.match(html, pos)
    assert match is not None
    return match


def _attributes(html: str, pos: int, clock: _Clock) -> tuple[int, dict[str, Span]]:
    """From ``pos`` (just past a tag name): the offset past the tag's ">", and its
    attributes (the first of duplicated names wins, as in browsers)."""
    attributes: dict[str, Span] = {}
    n = len(html)
    while True:
        clock.tick()
        match = _run(_ATTRIBUTE, html, pos)
        pos = match.end()
        if pos >= n:
            raise _EndOfInput
        if match.group(1) is None:  # only ">" stops both runs: the tag ends here
            return pos + 1, attributes
        name = str(match.group(1)).translate(_LOWER)
        if match.group(2) is None:
            attributes.setdefault(name, (pos, pos, False))  # no value
            continue
        quote = html[pos]
        if quote in "\"'":
            end = html.find(quote, pos + 1)
            if end == -1:
                raise _EndOfInput
            attributes.setdefault(name, (pos + 1, end, True))
            pos = end + 1
        else:
            end = _run(_UNQUOTED_VALUE, html, pos).end()
            attributes.setdefault(name, (pos, end, False))
            pos = end


def locate(html: str, *, deadline: float | None = None) -> Located:
    """Where the anchors and the closing body/html tags are (module docstring).

    ``deadline`` is a :func:`time.perf_counter` value; past it, :class:`BudgetExceeded`.
    """
    found = Located()
    # _EndOfInput: the rest is inside an unfinished construct, nothing more to find.
    with contextlib.suppress(_EndOfInput):
        _scan(html, found, _Clock(deadline))
    return found


def _scan(html: str, found: Located, clock: _Clock) -> None:
    n = len(html)
    pos = 0
    anchor: Anchor | None = None  # the open <a>, collecting its text
    while pos < n:
        clock.tick()
        lt = html.find("<", pos)
        if lt == -1:
            lt = n
        if anchor is not None and lt > pos:
            anchor.text.append(html[pos:lt])
        if lt + 1 >= n:
            return
        after = html[lt + 1]
        if after.isascii() and after.isalpha():
            name_end = _run(_TAG_NAME, html, lt + 1).end()
            name = html[lt + 1 : name_end].translate(_LOWER)
            pos, attributes = _attributes(html, name_end, clock)
            if name == "a":
                span = attributes.get("href")
                href = None if span is None else attribute_value(html[span[0] : span[1]])
                anchor = Anchor(lt, span, href, frozenset(attributes))
                found.anchors.append(anchor)
            elif name in _TEXT_ONLY:
                text_end = _TEXT_ONLY[name].search(html, pos)
                if text_end is None:
                    return
                pos = text_end.start()
            elif name == "plaintext":
                return
        elif after == "/":
            pos, end_name = _end_tag(html, lt, clock)
            if end_name == "a":
                anchor = None
            elif end_name == "body":
                found.body_end = lt
            elif end_name == "html":
                found.html_end = lt
        elif after == "!":
            pos = _markup_declaration(html, lt)
        elif after == "?":
            pos = _bogus_comment(html, lt + 2)
        else:
            if anchor is not None:
                anchor.text.append("<")
            pos = lt + 1


def _end_tag(html: str, lt: int, clock: _Clock) -> tuple[int, str | None]:
    """(offset past it, its lower-cased name) of the end tag at ``lt``."""
    first = html[lt + 2 : lt + 3]
    if first == ">":
        return lt + 3, None  # "</>" is dropped
    if not first:
        raise _EndOfInput
    if not (first.isascii() and first.isalpha()):
        return _bogus_comment(html, lt + 2), None
    name_end = _run(_TAG_NAME, html, lt + 2).end()
    end, _ = _attributes(html, name_end, clock)  # end tags may carry (ignored) attributes
    return end, html[lt + 2 : name_end].translate(_LOWER)


def _markup_declaration(html: str, lt: int) -> int:
    if html.startswith("<!--", lt):
        start = lt + 4
        if html.startswith(">", start):
            return start + 1  # "<!-->"
        if html.startswith("->", start):
            return start + 2  # "<!--->"
        end = _COMMENT_END.search(html, start)
        if end is None:
            raise _EndOfInput
        return end.end()
    # <!DOCTYPE ...>, <![CDATA[...]]> (a bogus comment in HTML content), <![if mso]>...
    return _bogus_comment(html, lt + 2)


def _bogus_comment(html: str, start: int) -> int:
    end = html.find(">", start)
    if end == -1:
        raise _EndOfInput
    return end + 1


_REFERENCE = re.compile(r"&(?:#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[A-Za-z][A-Za-z0-9]*+;?)")
_LONGEST_NAME = max(len(name) for name in html5)


def attribute_value(raw: str) -> str:
    """An attribute value decoded as a browser does (the standard's character reference
    states): unlike :func:`html.unescape`, a legacy reference without ";" followed by "="
    or a letter or digit stays as written, so ``?a=1&copy=2`` keeps ``&copy=2``."""
    if "&" not in raw:
        return raw

    def decode(match: re.Match[str]) -> str:
        reference = match.group(0)
        if reference[1] == "#":
            return unescape(reference)
        name = reference[1:]
        if name.endswith(";") and name in html5:
            return str(html5[name])
        # The longest known name at the start (only legacy names lack the ";").
        for cut in range(min(len(name), _LONGEST_NAME), 0, -1):
            if name[:cut] in html5:
                following = (name[cut:] or raw[match.end() : match.end() + 1])[:1]
                if following == "=" or following.isalnum():
                    return reference
                return str(html5[name[:cut]]) + name[cut:]
        return reference

    return _REFERENCE.sub(decode, raw)
