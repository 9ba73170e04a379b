"""The Templates page in Debian's chromium: a template made in the console, its preview
following the typing in a sandboxed frame (no CSP report, accessible), and Send test
landing in the sandbox inbox."""

from __future__ import annotations

import re
from typing import Any

import httpx
from playwright.async_api import Browser, expect

from mailpass_common.platform.db import Database
from mailpass_common.tenants import api_keys
from mailpass_common.tenants.api_keys import Permission
from tests.console.browser import DESKTOP, CspWatch, new_context
from tests.console.test_console_browser import go_to, look, sign_in_with_the_keyboard
from tests.support.smtp import SmtpServer
from tests.support.tenants import add_provider, make_account, smtp_config


async def test_edit_with_live_preview_and_send_a_test(
    browser: Browser,
    console: httpx.AsyncClient,
    db: Database,
    service_env: dict[str, Any],
    sandbox: SmtpServer,
) -> None:
    account_id = await make_account(db, "acme")
    owner = await api_keys.create_api_key(db, account_id, list(Permission), name="owner")
    await add_provider(db, service_env, account_id, name="p", config=smtp_config(1), default=True)
    context = await new_context(browser, str(console.base_url).rstrip("/"), DESKTOP)
    page = await context.new_page()
    csp = CspWatch()
    csp.attach(page)
    await sign_in_with_the_keyboard(page, owner.key)

    await go_to(page, "Templates")
    await page.get_by_label(re.compile("^Name")).fill("Welcome")
    await page.get_by_label("Alias").fill("welcome")
    await page.get_by_label(re.compile("^Subject")).fill("Welcome, {{ name }}")
    await page.get_by_label("HTML").fill("<h1>Hello {{ name }}</h1>")
    await page.get_by_role("button", name="Create template").click()
    await expect(page.get_by_role("heading", name="Welcome", exact=True)).to_be_visible()

    frame = page.frame_locator('iframe[name="template-preview"]')
    await expect(frame.get_by_role("heading", name="Hello name")).to_be_visible()
    await page.get_by_label("Sample variables (JSON)").fill('{"name": "<Ann>"}')
    await expect(frame.get_by_role("heading", name="Hello <Ann>")).to_be_visible()
    await page.get_by_label("HTML").fill("<h1>Hi {{ name }}</h1><p>{{ missing }}</p>")
    await expect(frame.get_by_text("Not rendered")).to_be_visible()
    await page.get_by_label("HTML").fill("<h1>Hi {{ name }}</h1>")
    await expect(frame.get_by_role("heading", name="Hi <Ann>")).to_be_visible()
    await look(page, "desktop-template-editor", csp)

    await page.get_by_role("button", name="Save as version 2").click()
    await expect(page.get_by_text("Template saved as a new version")).to_be_visible()
    await page.get_by_label("Sample variables (JSON)").fill('{"name": "Bea"}')
    await page.get_by_role("button", name="Send test").click()
    await expect(page).to_have_url(re.compile(r"/console/sandbox\?id="))
    await expect(page.get_by_text("Welcome, Bea").first).to_be_visible()
    [received] = await sandbox.wait_for(1)
    assert received.message["Subject"] == "Welcome, Bea"
    assert csp.violations == []
    await context.close()
