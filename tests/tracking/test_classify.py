"""Classification of opens and clicks from real user agents."""

from __future__ import annotations

import pytest

from mailpass_tracker.classify import CLICK_SCANNER_SECONDS, EventKind, classify

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
    "(KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
APPLE_MAIL = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)
OUTLOOK_DESKTOP = (
    "Mozilla/4.0 (compatible; ms-office; MSOffice 16) Microsoft Outlook 16.0.17328; Pro"
)
GMAIL_PROXY = (
    "Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)"
)
YAHOO_PROXY = "YahooMailProxy; https://help.yahoo.com/kb/yahoo-mail-proxy-SLN28749.html"
BING_PREVIEW = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/79.0.3945.74 Safari/537.36 Edg/79.0.309.43 BingPreview/1.0b"
)
HEADLESS = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/120.0.0.0 Safari/537.36"
)

LATE = 3600.0


@pytest.mark.parametrize(
    ("user_agent", "kind", "seconds", "expected"),
    [
        # People
        (CHROME, "click", LATE, "human"),
        (IPHONE_SAFARI, "click", LATE, "human"),
        (APPLE_MAIL, "open", LATE, "human"),
        (OUTLOOK_DESKTOP, "open", LATE, "human"),
        (CHROME, "click", None, "human"),
        (CHROME, "open", 0.5, "human"),  # timing only judges clicks
        # Image proxies
        (GMAIL_PROXY, "open", LATE, "machine_open"),
        (YAHOO_PROXY, "open", LATE, "machine_open"),
        ("Mozilla/5.0", "open", 1.0, "machine_open"),
        (" Mozilla/5.0 ", "open", LATE, "machine_open"),
        # Image-proxy agents never follow links: a click with one is automation
        ("Mozilla/5.0", "click", LATE, "scanner"),
        (GMAIL_PROXY, "click", LATE, "scanner"),
        # Scanners and automated clients
        (BING_PREVIEW, "click", LATE, "scanner"),
        (HEADLESS, "click", LATE, "scanner"),
        ("Barracuda Sentinel (EE)", "click", LATE, "scanner"),
        ("Mozilla/5.0 (compatible; Mimecast URL Protect)", "click", LATE, "scanner"),
        ("Proofpoint URL Defense", "open", LATE, "scanner"),
        ("Symantec Web Security Service", "click", LATE, "scanner"),
        ("curl/8.5.0", "click", LATE, "scanner"),
        ("python-requests/2.31.0", "click", LATE, "scanner"),
        ("Python-urllib/3.11", "open", LATE, "scanner"),
        ("Go-http-client/1.1", "click", LATE, "scanner"),
        (
            "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
            "click",
            LATE,
            "scanner",
        ),
        (None, "click", LATE, "scanner"),
        ("", "open", LATE, "scanner"),
        ("   ", "click", LATE, "scanner"),
        # A browser UA clicking within the scanner window
        (CHROME, "click", 0.0, "scanner"),
        (CHROME, "click", CLICK_SCANNER_SECONDS - 0.01, "scanner"),
        (CHROME, "click", CLICK_SCANNER_SECONDS, "human"),
    ],
)
def test_classification_table(
    user_agent: str | None, kind: EventKind, seconds: float | None, expected: str
) -> None:
    assert classify(user_agent, "203.0.113.7", kind, seconds) == expected


def test_proxy_open_wins_over_timing_and_ip_is_optional() -> None:
    assert classify(GMAIL_PROXY, None, "open", 0.1) == "machine_open"
    assert classify(CHROME, None, "click", LATE) == "human"
    assert classify(CHROME, "not an ip", "click", LATE) == "human"
