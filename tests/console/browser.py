"""A real browser for the console tests: Debian's chromium driven by Playwright.

Playwright never downloads a browser of its own here: it launches the chromium that
Debian packages (``/usr/bin/chromium``). When it is missing, the set-up installs it with
apt as root, or fails with the command to run.

axe-core (vendored in ``vendor/axe.min.js``) is evaluated in the page through the
DevTools protocol, which the page's Content-Security-Policy does not apply to, so the
policy stays on while the checks run; any report of it blocking something fails the test.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, BrowserContext, Page, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
INSTALL = "apt-get update && apt-get install -y chromium fonts-liberation"
AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text()
SCREENSHOTS = Path(__file__).resolve().parents[2] / ".data" / "screenshots"
DESKTOP: ViewportSize = {"width": 1280, "height": 860}
PHONE: ViewportSize = {"width": 375, "height": 812}
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


def ensure_chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, timeout=900, env=env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium", "fonts-liberation"],
            check=True,
            timeout=1800,
            env=env,
        )
        if CHROMIUM.exists():
            return CHROMIUM
    pytest.fail(f"The console's browser tests need Debian's chromium: run `sudo sh -c '{INSTALL}'`")


class CspWatch:
    """Collects what the browser reports the Content-Security-Policy blocked."""

    def __init__(self) -> None:
        self.violations: list[str] = []

    def attach(self, page: Page) -> None:
        def seen(message: Any) -> None:
            if "Content Security Policy" in message.text:
                self.violations.append(message.text)

        page.on("console", seen)


async def new_context(browser: Browser, base_url: str, viewport: ViewportSize) -> BrowserContext:
    context = await browser.new_context(
        base_url=base_url, viewport=viewport, device_scale_factor=1, locale="en-US"
    )
    context.set_default_timeout(10_000)  # every wait here is for a local server
    return context


async def check_accessibility(page: Page) -> None:
    """axe-core over the page as shown: no violation of any rule it runs by default."""
    await page.evaluate(AXE + "\n;undefined")
    result = await page.evaluate(
        "async () => { const r = await axe.run(document, {resultTypes: ['violations']});"
        " return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ') + ': ' + n.failureSummary)})); }"
    )
    assert result == [], f"axe-core on {page.url}:\n{json.dumps(result, indent=2)}"


# The pictures in docs/ are these screenshots, taken again by `make screenshots` (which
# runs the browser tests with MAILPASS_DOCS_SCREENSHOTS=1), never edited by hand.
DOCS = Path(__file__).resolve().parents[2] / "docs"
DOC_SCREENSHOTS = {
    "desktop-message": "console.png",
    "desktop-template-editor": "console-template-editor.png",
    "desktop-domain-verified": "console-domain.png",
}


async def screenshot(page: Page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    if name in DOC_SCREENSHOTS and os.environ.get("MAILPASS_DOCS_SCREENSHOTS") == "1":
        shutil.copyfile(path, DOCS / DOC_SCREENSHOTS[name])
    return path


async def fits_the_width(page: Page) -> None:
    """Nothing wider than the viewport (no sideways scrolling of the page)."""
    widths = await page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"{page.url} is {widths[0]}px wide in a {widths[1]}px window"
