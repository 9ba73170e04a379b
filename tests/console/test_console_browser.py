"""The console in a real browser (Debian's chromium), against the real gateway, sender,
tracker, RabbitMQ, the MongoDB wire server and aiosmtpd servers: what an account owner
does on a first day, checked with axe-core and photographed at desktop and phone widths
(under ``.data/screenshots/``)."""

from __future__ import annotations

import re
import urllib.parse
from collections.abc import AsyncIterator
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from playwright._impl._api_structures import SetCookieParam
from playwright.async_api import Browser, Page, expect

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants import api_keys
from mailpass_common.tenants.api_keys import Permission
from mailpass_tracker import classify
from tests.console.browser import (
    DESKTOP,
    PHONE,
    CspWatch,
    check_accessibility,
    fits_the_width,
    new_context,
    screenshot,
)
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import make_account
from tests.tracking.support import running_tracker

TARGET = "https://shop.example.com/orders/42"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")


@pytest.fixture
async def stack(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[dict[str, str]]:
    # The test clicks within a second of sending, which the classifier rightly takes for
    # a link scanner; its timing rule has tests of its own.
    monkeypatch.setattr(classify, "CLICK_SCANNER_SECONDS", 0.0)
    sandbox = SmtpServer().start()
    try:
        async with (
            running_tracker(service_env, tracker_flush_interval_seconds=0.05) as tracker,
            running_sender(
                service_env,
                management_port=0,
                sandbox_smtp_port=sandbox.port,
                tracker_base_url=tracker,
            ),
            running_gateway(service_env, send_timeout_seconds=10) as api,
        ):
            yield {"gateway": str(api.base_url).rstrip("/"), "tracker": tracker}
    finally:
        sandbox.stop()


async def sign_in_with_the_keyboard(page: Page, key: str) -> None:
    await page.goto("/console/")
    await expect(page).to_have_url(re.compile(r"/console/sign-in"))
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.className") == "skip"
    await page.get_by_label("API key").focus()
    await page.keyboard.type(key)
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(r"/console/overview$"))


async def go_to(page: Page, section: str) -> None:
    nav = page.get_by_role("navigation", name="Console")
    await nav.get_by_role("link", name=section, exact=True).click()


async def look(page: Page, name: str, csp: CspWatch) -> None:
    """Every page the test visits: accessible, within the width, photographed, no CSP
    violation."""
    await check_accessibility(page)
    await fits_the_width(page)
    await screenshot(page, name)
    assert csp.violations == [], csp.violations


async def test_an_account_owners_first_day_in_the_console(
    browser: Browser,
    stack: dict[str, str],
    db: Database,
    smtp: SmtpServer,
) -> None:
    account_id = await make_account(db, "acme")
    owner = await api_keys.create_api_key(db, account_id, list(Permission), name="owner")
    stranger_id = await make_account(db, "stranger")
    stranger_message = "<theirs.1@stranger.test>"
    await db[Collections.MESSAGES].insert_one(
        {"_id": stranger_message, "account_id": stranger_id, "sandbox": False, "subject": "x"}
    )

    context = await new_context(browser, stack["gateway"], DESKTOP)
    page = await context.new_page()
    csp = CspWatch()
    csp.attach(page)

    # Sign in.
    await sign_in_with_the_keyboard(page, owner.key)
    await expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    await expect(page.get_by_text("No default provider")).to_be_visible()
    await look(page, "desktop-overview-empty", csp)

    # Add an SMTP provider pointing at the local aiosmtpd server, and test it.
    await go_to(page, "SMTP Settings")
    await page.get_by_role("link", name="Add provider").click()
    await page.get_by_role("link", name=re.compile("^SMTP Any")).click()
    await page.get_by_label(re.compile(r"^Name")).fill("local-relay")
    await page.get_by_label(re.compile(r"^Default sender address")).fill("noreply@acme.example.com")
    await page.get_by_label("Default sender name").fill("Acme")
    await page.get_by_label("Hourly limit").fill("1000")
    await page.get_by_label(re.compile(r"^Host")).fill("127.0.0.1")
    await page.get_by_label("Port").fill(str(smtp.port))
    await page.get_by_label("Security").select_option("none")
    await look(page, "desktop-provider-form", csp)
    await page.get_by_role("button", name="Add provider").click()
    card = page.locator("article.provider", has_text="local-relay")
    await expect(card).to_be_visible()
    provider_id = (await card.get_attribute("id")) or ""
    await card.get_by_role("button", name="Send test").click()
    await expect(page.get_by_text("Test finished")).to_be_visible()
    await expect(card.get_by_text("connected and authenticated")).to_be_visible()
    assert smtp.received == []  # a test sends nothing

    # Set it as the default.
    await card.get_by_role("button", name="Set as default").click()
    await expect(card.get_by_text("Default", exact=True)).to_be_visible()
    await expect(card.get_by_text("0 of 1,000 this hour")).to_be_visible()
    await look(page, "desktop-smtp-settings", csp)

    # Create a key, and send with it through the API.
    await go_to(page, "API Keys")
    await page.get_by_label("Name", exact=True).fill("billing")
    await page.get_by_label(re.compile("^mail")).check()
    await page.get_by_role("button", name="Create key").click()
    key_field = page.get_by_label(re.compile("^API key"))
    new_key = await key_field.input_value()
    assert new_key.startswith("mp_live_")
    await page.get_by_role("button", name="Copy").click()
    await expect(page.locator("#copy-status")).not_to_be_empty()
    await look(page, "desktop-key-created", csp)

    html = f'<p>Your order shipped.</p><p><a href="{TARGET}">Track it</a></p>'
    async with httpx.AsyncClient(base_url=stack["gateway"], timeout=30) as client:
        sent = await client.post(
            "/api/v1/mail/send",
            json={
                "to": "ann@example.com",
                "subject": "Your order shipped",
                "html": html,
                "text": f"Track it: {TARGET}",
                "tags": ["order"],
                "track_clicks": True,
            },
            headers={"Authorization": f"Bearer {new_key}"},
        )
    assert sent.status_code == 200, sent.text
    message_id = sent.json()["data"]["message_id"]

    # Watch the message appear, with its sent event.
    await go_to(page, "Messages")
    row = page.get_by_role("row", name=re.compile("Your order shipped"))
    await expect(row).to_be_visible()
    await expect(row.locator(".badge-sent")).to_be_visible()
    await look(page, "desktop-messages", csp)
    await row.get_by_role("link", name="Your order shipped").click()
    await expect(page).to_have_url(re.compile(re.escape(message_id.strip("<>"))))
    message_page = page.url.removeprefix(stack["gateway"])
    timeline = page.locator("ol.timeline")
    await expect(timeline.locator(".event-sent")).to_be_visible()
    await expect(timeline.locator(".event-sent pre.reply")).to_contain_text("Ok: queued")
    await expect(page.locator("iframe.rendered")).to_be_visible()

    # Open the tracked link; the click shows on the message page (it refreshes itself).
    [received] = smtp.received
    links = _Links()
    links.feed(received.message.get_body(("html",)).get_content())  # type: ignore[union-attr]
    [tracked] = links.hrefs
    assert tracked.startswith(stack["tracker"])
    async with httpx.AsyncClient() as reader:
        clicked = await reader.get(tracked, headers={"User-Agent": "Thunderbird/128.3.1"})
    assert clicked.status_code == 302 and clicked.headers["location"] == TARGET
    click = timeline.locator(".event-click")
    await expect(click).to_be_visible(timeout=20_000)
    await expect(click).to_contain_text(TARGET)
    await expect(click).to_contain_text("127.0.0.1")
    await expect(click).to_contain_text("Thunderbird/128.3.1")
    await expect(click.locator(".badge-class")).to_have_text("human")
    await look(page, "desktop-message", csp)

    # Posts without the CSRF token, and other accounts' ids, are refused.
    forged = await context.request.post(f"/console/providers/{provider_id}/default", form={})
    assert forged.status == 403 and "CSRF_INVALID" in await forged.text()
    theirs = await context.request.get(
        "/console/messages/" + urllib.parse.quote(stranger_message.strip("<>"), safe="@")
    )
    assert theirs.status == 404

    # Mail sent with a test key lands in the sandbox inbox, rendered.
    tester = await api_keys.create_api_key(db, account_id, [Permission.MAIL], test=True)
    async with httpx.AsyncClient(base_url=stack["gateway"], timeout=30) as client:
        tried = await client.post(
            "/api/v1/mail/send",
            json={"to": "qa@example.com", "subject": "Welcome aboard", "html": "<h1>Hi!</h1>"},
            headers={"Authorization": f"Bearer {tester.key}"},
        )
    assert tried.status_code == 200, tried.text
    await go_to(page, "Sandbox inbox")
    inbox = page.get_by_role("navigation", name="Test messages")
    await expect(inbox.get_by_role("link", name=re.compile("Welcome aboard"))).to_be_visible()
    frame = page.frame_locator("iframe.rendered")
    await expect(frame.get_by_role("heading", name="Hi!")).to_be_visible()
    await look(page, "desktop-sandbox", csp)

    # Revoke the key: the API refuses it from then on.
    await go_to(page, "API Keys")
    await page.get_by_role("link", name="Revoke billing").click()
    await page.get_by_role("button", name="Revoke billing").click()
    await expect(page.get_by_text("API key revoked")).to_be_visible()
    async with httpx.AsyncClient(base_url=stack["gateway"]) as client:
        refused = await client.get(
            "/api/v1/mail/messages", headers={"Authorization": f"Bearer {new_key}"}
        )
    assert refused.status_code == 401

    # Webhooks: an endpoint added, its signing secret shown once.
    await go_to(page, "Webhooks")
    await page.get_by_label("URL").fill("https://hooks.example.com/mailpass")
    await page.get_by_role("button", name="Add endpoint").click()
    await expect(page.get_by_text("shown only this once")).to_be_visible()
    await look(page, "desktop-webhook-created", csp)

    # The same pages at phone width.
    phone = await new_context(browser, stack["gateway"], PHONE)
    session_cookies: list[SetCookieParam] = [
        {"name": c["name"], "value": c["value"], "url": stack["gateway"]}
        for c in await context.cookies()
    ]
    await phone.add_cookies(session_cookies)
    small = await phone.new_page()
    csp.attach(small)
    for path, name in (
        ("/console/overview", "phone-overview"),
        ("/console/messages", "phone-messages"),
        (message_page, "phone-message"),
        ("/console/providers", "phone-smtp-settings"),
        ("/console/sandbox", "phone-sandbox"),
        ("/console/keys", "phone-keys"),
        ("/console/webhooks", "phone-webhooks"),
    ):
        await small.goto(path)
        await look(small, name, csp)
    await phone.close()

    # Sign out: the session is over, on the server too.
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_text("You are signed out")).to_be_visible()
    await page.goto("/console/overview")
    await expect(page).to_have_url(re.compile(r"/console/sign-in"))
    assert await db[Collections.CONSOLE_SESSIONS].find_one({"account_id": account_id}) is None
    await context.close()


async def test_the_accessibility_check_reports_what_it_finds(browser: Browser) -> None:
    """The axe-core check above can fail: a page with a picture without alternative text
    and a nameless button does not pass it."""
    page = await browser.new_page()
    await page.set_content(
        '<html lang="en"><head><title>t</title></head><body><main>'
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
        "<button></button></main></body></html>"
    )
    with pytest.raises(AssertionError) as found:
        await check_accessibility(page)
    assert "image-alt" in str(found.value) and "button-name" in str(found.value)
    await page.close()
