"""In chromium: an owner signs in with password and code, invites a colleague on the
Members page, and the colleague joins through the link, setting up their authenticator;
every page passes axe-core and its Content-Security-Policy."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pyotp
from playwright.async_api import Browser, expect

from mailpass_common.platform.db import Database
from tests.console.browser import (
    DESKTOP,
    CspWatch,
    check_accessibility,
    fits_the_width,
    new_context,
    screenshot,
)
from tests.support.people import PASSWORD, make_person
from tests.support.tenants import make_account


async def test_an_owner_invites_a_colleague_who_joins_in_the_browser(
    browser: Browser, console: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_account(db, "acme")
    ada = await make_person(db, service_env, "ada@example.test", (acme, "owner"))
    base = str(console.base_url).rstrip("/")
    context = await new_context(browser, base, DESKTOP)
    page = await context.new_page()
    csp = CspWatch()
    csp.attach(page)

    await page.goto("/console/")
    await check_accessibility(page)
    await page.get_by_label("Email").fill(ada.email)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_label("Code from your authenticator app").fill(await ada.next_code())
    await page.get_by_role("button", name="Sign in", exact=True).click()
    await expect(page).to_have_url(re.compile(r"/console/overview$"))
    await expect(page.get_by_text("ada@example.test · owner")).to_be_visible()

    await page.get_by_role("navigation", name="Console").get_by_role("link", name="Members").click()
    await page.get_by_label("Email").fill("bob@example.test")
    await page.get_by_label("Role", exact=True).select_option("admin")
    await page.get_by_role("button", name="Send invitation").click()
    link = (await page.locator("#invitation-link").inner_text()).strip()
    assert link.startswith(f"{base}/console/invitations/")
    await check_accessibility(page)
    await fits_the_width(page)
    await screenshot(page, "desktop-members")
    await context.close()

    colleague = await new_context(browser, base, DESKTOP)
    page = await colleague.new_page()
    csp.attach(page)
    await page.goto(link)
    await expect(page.get_by_role("heading", name="Join acme")).to_be_visible()
    await check_accessibility(page)
    secret = (await page.locator("#totp-secret").inner_text()).strip()
    await page.get_by_label("Your name").fill("Bob")
    await page.get_by_label("Choose a password").fill("a long enough passphrase")
    await page.get_by_label("Code from your authenticator app").fill(pyotp.TOTP(secret).now())
    await page.get_by_role("button", name="Join acme").click()
    await expect(page.get_by_text("Welcome: you are a member of this account now.")).to_be_visible()
    await expect(page.get_by_text("bob@example.test · admin")).to_be_visible()
    await page.get_by_role("navigation", name="Console").get_by_role("link", name="Members").click()
    await expect(page.get_by_role("cell", name="bob@example.test (you)")).to_be_visible()
    await check_accessibility(page)
    assert csp.violations == [], csp.violations
    await colleague.close()
