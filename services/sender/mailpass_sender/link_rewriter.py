"""Adds the open pixel and click-tracking links to the HTML part of an outgoing email.

Parser choice: the stdlib :class:`html.parser.HTMLParser`, used as a *locator*, not as a
serializer. It reports where each ``<a>`` start tag and the last ``</body>`` sit in the
source; the rewriter then replaces only the bytes of those ``href`` values and inserts the
pixel, and copies everything else verbatim. A re-serializing parser (selectolax/Lexbor,
lxml, html5lib) wraps a fragment in ``<html><head><body>``, lower-cases attribute names,
re-quotes attributes and closes unclosed tags; email HTML is hand-tuned for dozens of
clients (Outlook conditional comments, odd attribute quoting), so changing it is a risk
for no gain. Because it is still a real tokenizer, links inside comments, ``<script>`` or
attribute values are never touched, which a regular expression cannot promise.

Rules:

- Rewritten: ``<a href>`` whose href is an absolute http(s) URL; link indexes count the
  rewritten links in document order (0, 1, 2...).
- Left alone: ``mailto:``, ``tel:``, ``#anchors``, relative or templated hrefs, links in
  comments (Outlook ``<!--[if mso]>`` blocks included), unsubscribe links (``unsubscribe``
  in the href or the link text, any case, so the recipient's opt-out never depends on the
  tracker being up), and links that carry the opt-out attribute ``data-mailpass-no-track``
  (kept in the output, browsers ignore it).
- Hrefs are decoded as the browser would (``&amp;`` → ``&``, surrounding whitespace and
  embedded tabs/newlines dropped) before signing, so the redirect goes to the real URL.
- A link that cannot be signed (too long, no host) stays as it is rather than failing
  the send.

When: :func:`tracking_choice` decides per message. The message's ``track_opens`` /
``track_clicks`` (from the API request) win; ``None`` means the account's default
(:func:`mailpass_common.accounts.tracking_defaults`), off unless the account set it.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass, field
from html import escape, unescape
from html.parser import HTMLParser

from mailpass_common.accounts import TrackingDefaults
from mailpass_common.delivery.base import OutgoingEmail
from mailpass_common.documents import MessageDocument
from mailpass_common.signed_links import TrackingSigner

NO_TRACK_ATTRIBUTE = "data-mailpass-no-track"
_PIXEL = (
    '<img src="{src}" width="1" height="1" alt="" '
    'style="display:none;border:0;width:1px;height:1px" />'
)
_WHITESPACE = " \t\n\r\f"


@dataclass
class _Anchor:
    start: int  # offset of "<a" in the source
    raw_tag: str
    href: str | None
    opted_out: bool
    text: list[str] = field(default_factory=list)


class _Locator(HTMLParser):
    """Records the source offsets of ``<a>`` start tags, their text, and ``</body>``."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        # HTMLParser reports (line, column) and counts lines by "\n" only.
        self._line_starts = [0]
        for index, char in enumerate(source):
            if char == "\n":
                self._line_starts.append(index + 1)
        self.anchors: list[_Anchor] = []
        self.body_end: int | None = None
        self.html_end: int | None = None
        self._open: _Anchor | None = None

    def _offset(self) -> int:
        line, column = self.getpos()
        return self._line_starts[line - 1] + column

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        names = {name for name, _ in attrs}
        # The first of duplicated attributes wins, as in browsers.
        href = next((value for name, value in attrs if name == "href"), None)
        self._open = _Anchor(
            start=self._offset(),
            raw_tag=self.get_starttag_text() or "",
            href=href,
            opted_out=NO_TRACK_ATTRIBUTE in names,
        )
        self.anchors.append(self._open)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._open = None
        elif tag == "body":
            self.body_end = self._offset()
        elif tag == "html":
            self.html_end = self._offset()

    def handle_data(self, data: str) -> None:
        if self._open is not None:
            self._open.text.append(data)


def _href_value_span(raw_tag: str) -> tuple[int, int, bool] | None:
    """(start, end, quoted) of the first ``href`` value inside one start tag's text.

    Follows the attribute rules of the HTML tokenizer; the caller double-checks the
    result against the value HTMLParser decoded, so a disagreement means "leave alone".
    """
    i, n = 1, len(raw_tag)
    while i < n and raw_tag[i] not in _WHITESPACE + "/>":
        i += 1  # tag name
    while i < n:
        while i < n and raw_tag[i] in _WHITESPACE + "/":
            i += 1
        if i >= n or raw_tag[i] == ">":
            return None
        name_start = i
        i += 1  # a name may start with "=", per the tokenizer
        while i < n and raw_tag[i] not in _WHITESPACE + "/>=":
            i += 1
        name = raw_tag[name_start:i].lower()
        while i < n and raw_tag[i] in _WHITESPACE:
            i += 1
        if i >= n or raw_tag[i] != "=":
            continue  # attribute without a value
        i += 1
        while i < n and raw_tag[i] in _WHITESPACE:
            i += 1
        if i < n and raw_tag[i] in "\"'":
            quote = raw_tag[i]
            end = raw_tag.find(quote, i + 1)
            if end == -1:
                return None
            span = (i + 1, end, True)
            i = end + 1
        else:
            start = i
            while i < n and raw_tag[i] not in _WHITESPACE + ">":
                i += 1
            span = (start, i, False)
        if name == "href":
            return span
    return None


def _browser_url(href: str) -> str:
    """The URL a browser would follow: trimmed, with tabs and newlines removed (WHATWG)."""
    return href.strip(_WHITESPACE).replace("\t", "").replace("\n", "").replace("\r", "")


def _is_trackable(anchor: _Anchor, url: str) -> bool:
    if anchor.opted_out or not url.lower().startswith(("http://", "https://")):
        return False
    return "unsubscribe" not in (url + "".join(anchor.text)).lower()


def apply_tracking(
    html: str,
    *,
    message_id: str,
    signer: TrackingSigner,
    base_url: str,
    opens: bool,
    clicks: bool,
) -> str:
    """Return ``html`` with tracked links and/or the open pixel; all else verbatim."""
    if not opens and not clicks:
        return html
    locator = _Locator(html)
    locator.feed(html)
    locator.close()

    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in the source
    if clicks:
        index = 0
        for anchor in locator.anchors:
            if anchor.href is None or not html.startswith(anchor.raw_tag, anchor.start):
                continue
            url = _browser_url(anchor.href)
            span = _href_value_span(anchor.raw_tag)
            if span is None or not _is_trackable(anchor, url):
                continue
            value_start, value_end, quoted = span
            if unescape(anchor.raw_tag[value_start:value_end]) != anchor.href:
                continue
            try:
                tracked = signer.click_url(base_url, message_id, index, url)
            except ValueError:
                continue
            escaped = escape(tracked, quote=True)
            edits.append(
                (
                    anchor.start + value_start,
                    anchor.start + value_end,
                    escaped if quoted else f'"{escaped}"',
                )
            )
            index += 1
    if opens:
        pixel = _PIXEL.format(src=escape(signer.open_url(base_url, message_id), quote=True))
        where = locator.body_end if locator.body_end is not None else locator.html_end
        position = len(html) if where is None else where
        edits.append((position, position, pixel))

    edits.sort(key=lambda edit: edit[0])
    parts: list[str] = []
    cursor = 0
    for start, end, replacement in edits:
        parts += [html[cursor:start], replacement]
        cursor = end
    parts.append(html[cursor:])
    return "".join(parts)


@dataclass(frozen=True)
class TrackingChoice:
    opens: bool
    clicks: bool


def tracking_choice(message: MessageDocument, defaults: TrackingDefaults) -> TrackingChoice:
    """The message's own choice where it made one, the account's default elsewhere."""
    opens, clicks = message.get("track_opens"), message.get("track_clicks")
    return TrackingChoice(
        opens=defaults.opens if opens is None else bool(opens),
        clicks=defaults.clicks if clicks is None else bool(clicks),
    )


@functools.lru_cache(maxsize=4)
def _signer(secret: str) -> TrackingSigner:
    return TrackingSigner(secret)


def track_email(
    email: OutgoingEmail, choice: TrackingChoice, *, secret: str, tracker_base_url: str
) -> OutgoingEmail:
    """``email`` with the pixel and tracked links in its HTML part when tracking is on.

    The text part is never changed. Tokens are deterministic, so a retried delivery
    carries the same links as the first attempt.
    """
    if not email.html or not (choice.opens or choice.clicks):
        return email
    html = apply_tracking(
        email.html,
        message_id=email.message_id,
        signer=_signer(secret),
        base_url=tracker_base_url,
        opens=choice.opens,
        clicks=choice.clicks,
    )
    return dataclasses.replace(email, html=html)
