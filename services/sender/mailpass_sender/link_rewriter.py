"""Adds the open pixel and click-tracking links to the HTML part of an outgoing email.

Parser choice: :mod:`mailpass_sender.html_locator`, a single-pass tokenizer used as a
*locator*, not as a serializer. It reports where each ``<a>`` start tag and the last
``</body>`` sit in the source; the rewriter then replaces only the bytes of those
``href`` values and inserts the pixel, and copies everything else verbatim. A
re-serializing parser (selectolax/Lexbor, lxml, html5lib) wraps a fragment in
``<html><head><body>``, lower-cases attribute names, re-quotes attributes and closes
unclosed tags; email HTML is hand-tuned for dozens of clients (Outlook conditional
comments, odd attribute quoting), so changing it is a risk for no gain. Because it follows
the HTML tokenizer, links inside comments, ``<script>``, ``<style>``, ``<title>`` or
attribute values are never touched, which a regular expression cannot promise. It runs in
time linear in the input (the stdlib ``HTMLParser`` this replaced was quadratic on
malformed input), and within a budget: a body that cannot be rewritten in
``sender_tracking_budget_seconds`` is sent untracked (:class:`TrackedEmail` says why, and
the sender records a ``tracking_skipped`` event). Large bodies are rewritten in a worker
thread, so the event loop keeps serving the other deliveries meanwhile.

Rules:

- Rewritten: ``<a href>`` whose href is an absolute http(s) URL; link indexes count the
  rewritten links in document order (0, 1, 2...).
- Left alone: ``mailto:``, ``tel:``, ``#anchors``, relative or templated hrefs, links in
  comments (Outlook ``<!--[if mso]>`` blocks included), unsubscribe links (``unsubscribe``
  in the href or the link text, any case, so the recipient's opt-out never depends on the
  tracker being up), and links that carry the opt-out attribute ``data-mailpass-no-track``
  (kept in the output, browsers ignore it).
- Hrefs are decoded as the browser would (``&amp;`` → ``&``, but ``&copy=`` kept as
  written; surrounding whitespace and embedded tabs/newlines dropped) before signing, so
  the redirect goes to the real URL.
- A link that cannot be signed (too long, no host) stays as it is rather than failing
  the send.

When: :func:`tracking_choice` decides per message. The message's ``track_opens`` /
``track_clicks`` (from the API request) win; ``None`` means the account's default
(:func:`mailpass_common.tenants.accounts.tracking_defaults`), off unless the account set it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
import time
from dataclasses import dataclass
from html import escape, unescape

from mailpass_common.messages.models import MessageDocument
from mailpass_common.messages.signed_links import TrackingSigner
from mailpass_common.platform.telemetry import log_fields
from mailpass_common.providers.delivery.base import OutgoingEmail
from mailpass_common.tenants.accounts import TrackingDefaults
from mailpass_sender.html_locator import Anchor, BudgetExceeded, locate

log = logging.getLogger(__name__)

NO_TRACK_ATTRIBUTE = "data-mailpass-no-track"
_PIXEL = (
    '<img src="{src}" width="1" height="1" alt="" '
    'style="display:none;border:0;width:1px;height:1px" />'
)
_WHITESPACE = " \t\n\r\f"
# Bodies above this are rewritten in a worker thread (a 512 KiB body of nothing but links
# takes a few hundred milliseconds); smaller ones take well under a millisecond inline.
THREAD_ABOVE_CHARS = 32 * 1024
_CHECK_EVERY = 256  # links signed between two looks at the clock


def _browser_url(href: str) -> str:
    """The URL a browser would follow: trimmed, with tabs and newlines removed (WHATWG)."""
    return href.strip(_WHITESPACE).replace("\t", "").replace("\n", "").replace("\r", "")


def _is_trackable(anchor: Anchor, url: str) -> bool:
    if NO_TRACK_ATTRIBUTE in anchor.attribute_names:
        return False
    if not url.lower().startswith(("http://", "https://")):
        return False
    return "unsubscribe" not in (url + unescape("".join(anchor.text))).lower()


def apply_tracking(
    html: str,
    *,
    message_id: str,
    signer: TrackingSigner,
    base_url: str,
    opens: bool,
    clicks: bool,
    deadline: float | None = None,
) -> str:
    """Return ``html`` with tracked links and/or the open pixel; all else verbatim.

    ``deadline`` (a :func:`time.perf_counter` value): past it, :class:`BudgetExceeded`.
    """
    if not opens and not clicks:
        return html
    located = locate(html, deadline=deadline)

    edits: list[tuple[int, int, str]] = []  # (start, end, replacement) in the source
    if clicks:
        index = 0
        for anchor in located.anchors:
            if anchor.href is None or anchor.href_span is None:
                continue
            url = _browser_url(anchor.href)
            if not _is_trackable(anchor, url):
                continue
            try:
                tracked = signer.click_url(base_url, message_id, index, url)
            except ValueError:
                continue
            value_start, value_end, quoted = anchor.href_span
            escaped = escape(tracked, quote=True)
            edits.append((value_start, value_end, escaped if quoted else f'"{escaped}"'))
            index += 1
            if (
                deadline is not None
                and index % _CHECK_EVERY == 0
                and time.perf_counter() > deadline
            ):
                raise BudgetExceeded
    if opens:
        pixel = _PIXEL.format(src=escape(signer.open_url(base_url, message_id), quote=True))
        where = located.body_end if located.body_end is not None else located.html_end
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


@dataclass(frozen=True)
class TrackedEmail:
    email: OutgoingEmail
    skipped: str | None = None  # why tracking was asked for and not applied


async def track_email(
    email: OutgoingEmail,
    choice: TrackingChoice,
    *,
    secret: str,
    tracker_base_url: str,
    budget_seconds: float,
) -> TrackedEmail:
    """``email`` with the pixel and tracked links in its HTML part when tracking is on.

    The text part is never changed. Tokens are deterministic, so a retried delivery
    carries the same links as the first attempt. A body that cannot be rewritten within
    ``budget_seconds`` (or at all) is returned unchanged, with the reason in ``skipped``:
    the message still goes out, untracked.
    """
    html = email.html
    if not html or not (choice.opens or choice.clicks):
        return TrackedEmail(email)
    rewrite = functools.partial(
        apply_tracking,
        html,
        message_id=email.message_id,
        signer=_signer(secret),
        base_url=tracker_base_url,
        opens=choice.opens,
        clicks=choice.clicks,
        deadline=time.perf_counter() + budget_seconds,
    )
    try:
        tracked = await asyncio.to_thread(rewrite) if len(html) > THREAD_ABOVE_CHARS else rewrite()
    except BudgetExceeded:
        reason = (
            f"the HTML part could not be rewritten within {budget_seconds:g} s: "
            "sent without open and click tracking"
        )
        log.warning(
            "tracking skipped", extra=log_fields(message_id=email.message_id, chars=len(html))
        )
        return TrackedEmail(email, reason)
    except Exception as exc:
        # A rewriter bug must not stop the message: it goes out as written, untracked.
        log.exception("tracking failed", extra=log_fields(message_id=email.message_id))
        return TrackedEmail(
            email,
            f"the HTML part could not be rewritten ({type(exc).__name__}): "
            "sent without open and click tracking",
        )
    return TrackedEmail(dataclasses.replace(email, html=tracked))
