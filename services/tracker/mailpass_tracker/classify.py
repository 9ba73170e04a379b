"""Tells a person's open or click from a machine's, so reports can separate them.

Every event is recorded; the class is a flag on it, never a reason to drop it (a proxy
open often *is* the recipient opening the mail, and a wrong guess must stay reversible).

Classes, checked in this order (the first match wins):

``machine_open`` (opens only) — image proxies that fetch the pixel for the recipient:

- Gmail fetches every image through its proxy; the UA ends in
  ``(via ggpht.com GoogleImageProxy)`` (Gmail help, "Images in Gmail"; the proxy
  fetches when the mail is displayed, so it is a real but anonymised open).
- Yahoo Mail's proxy sends ``YahooMailProxy`` in the UA (help.yahoo.com SLN28749).
- Apple Mail Privacy Protection (iOS 15 / macOS 12 and later) preloads all remote content
  through Apple's relays soon after delivery, whether or not the mail is ever read
  (Apple's MPP documentation; SocketLabs' and Litmus' published MPP analyses). Those
  fetches carry the bare UA ``Mozilla/5.0`` and come from Apple's relay egress ranges.
  Without those IP lists, a bare ``Mozilla/5.0`` is taken as a *likely* MPP open: no
  browser or mail client sends it alone.
- Outlook.com loads images through Microsoft's servers with a browser-like UA and no
  stable marker that we know of, so it is not detected; add a pattern here once one is
  observed, rather than guessing.

``scanner`` — security gateways and automated clients that follow links or fetch images
to inspect them: Microsoft Defender Safe Links (``BingPreview``, ``Microsoft-URLAnalyzer``,
``SafeLinks``), Barracuda, Mimecast, Proofpoint, Symantec/Broadcom, Forcepoint, Sophos,
Trend Micro, Cisco IronPort, McAfee; headless browsers; HTTP libraries and command-line
tools; anything calling itself a bot, crawler or spider; a missing UA (every real client
sends one); and a click less than ``CLICK_SCANNER_SECONDS`` after sending, since a person
cannot receive, open, read and click that fast while a gateway scanning at delivery does.
The timing rule applies to clicks only: a fast pixel fetch is already explained by the
proxies above and would otherwise turn MPP opens into "scanner".

A click carrying one of the image-proxy agents above is ``scanner``: those proxies never
follow links, so whatever sent it is automated.

``human`` — everything else.

The IP address is accepted for when proxy and scanner ranges are added (Apple publishes
its relay egress ranges); today only the user agent and the timing decide.
"""

from __future__ import annotations

from typing import Literal

EventKind = Literal["open", "click"]
Classification = Literal["human", "machine_open", "scanner"]

CLICK_SCANNER_SECONDS = 2.0
APPLE_MPP_USER_AGENT = "Mozilla/5.0"

# (case-insensitive substring of the user agent, who sends it)
MACHINE_OPEN_AGENTS: tuple[tuple[str, str], ...] = (
    ("googleimageproxy", "Gmail image proxy"),
    ("ggpht.com", "Gmail image proxy"),
    ("yahoomailproxy", "Yahoo Mail image proxy"),
)

SCANNER_AGENTS: tuple[tuple[str, str], ...] = (
    # Security gateways and link scanners
    ("bingpreview", "Microsoft Defender Safe Links"),
    ("microsoft-urlanalyzer", "Microsoft Defender Safe Links"),
    ("safelinks", "Microsoft Defender Safe Links"),
    ("barracuda", "Barracuda"),
    ("mimecast", "Mimecast"),
    ("proofpoint", "Proofpoint"),
    ("symantec", "Symantec / Broadcom"),
    ("forcepoint", "Forcepoint"),
    ("sophos", "Sophos"),
    ("trend micro", "Trend Micro"),
    ("ironport", "Cisco IronPort"),
    ("mcafee", "McAfee"),
    # Headless and automated browsers
    ("headlesschrome", "headless Chrome"),
    ("phantomjs", "PhantomJS"),
    ("puppeteer", "Puppeteer"),
    ("playwright", "Playwright"),
    ("selenium", "Selenium"),
    # HTTP libraries and command-line tools
    ("curl/", "curl"),
    ("wget/", "Wget"),
    ("python-requests", "Python requests"),
    ("python-urllib", "Python urllib"),
    ("python-httpx", "Python httpx"),
    ("aiohttp", "Python aiohttp"),
    ("go-http-client", "Go net/http"),
    ("okhttp", "OkHttp"),
    ("apache-httpclient", "Apache HttpClient"),
    ("java/", "Java"),
    ("libwww-perl", "Perl LWP"),
    ("node-fetch", "node-fetch"),
    ("axios/", "axios"),
    # Self-declared robots
    ("bot", "robot"),
    ("crawler", "crawler"),
    ("spider", "spider"),
)


def _matches(user_agent: str, table: tuple[tuple[str, str], ...]) -> bool:
    lowered = user_agent.lower()
    return any(pattern in lowered for pattern, _ in table)


def classify(
    user_agent: str | None,
    ip: str | None,
    kind: EventKind,
    seconds_since_sent: float | None,
) -> Classification:
    """Flag one open or click as ``human``, ``machine_open`` or ``scanner``."""
    agent = (user_agent or "").strip()
    if agent == APPLE_MPP_USER_AGENT or _matches(agent, MACHINE_OPEN_AGENTS):
        # Proxies only fetch images: the same agent following a link is automation.
        return "machine_open" if kind == "open" else "scanner"
    if not agent or _matches(agent, SCANNER_AGENTS):
        return "scanner"
    if (
        kind == "click"
        and seconds_since_sent is not None
        and seconds_since_sent < CLICK_SCANNER_SECONDS
    ):
        return "scanner"
    return "human"
