"""The console's Domains page on the real gateway, nx-27017 and the tests' DNS server: a
domain added, its records copied, published and verified in a real browser (axe-core,
desktop and phone widths); CSRF, test-key sessions and other accounts' domains over HTTP."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, expect

from mailpass_common.mta import domains
from mailpass_common.platform.db import Database
from mailpass_common.tenants.api_keys import Permission
from tests.console.browser import DESKTOP, PHONE, CspWatch, new_context
from tests.console.support import csrf_token, post_form, sign_in
from tests.console.test_console_browser import go_to, look, sign_in_with_the_keyboard
from tests.domains.support import RETURN_PATH_DOMAIN, publish, unique_domain
from tests.support.dns import TestDns
from tests.support.stack import running_gateway
from tests.support.tenants import cipher, make_admin

PAGE = "/console/domains"


@pytest.fixture
async def gateway(
    db: Database, service_env: dict[str, Any], dns: TestDns
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(
        service_env, mta_dns_nameservers=[dns.nameserver], mta_return_path_domain=RETURN_PATH_DOMAIN
    ) as client:
        yield client


async def test_add_copy_publish_and_verify_in_a_browser(
    browser: Browser, gateway: httpx.AsyncClient, db: Database, dns: TestDns
) -> None:
    owner = await make_admin(db, "acme")
    name = unique_domain("bücher")
    context = await new_context(browser, str(gateway.base_url).rstrip("/"), DESKTOP)
    page = await context.new_page()
    csp = CspWatch()
    csp.attach(page)
    await sign_in_with_the_keyboard(page, owner.key)

    await go_to(page, "Domains")
    await expect(page.get_by_role("heading", name="Sending domains")).to_be_visible()
    await page.get_by_role("textbox", name="Domain").fill("not a domain")
    await page.get_by_role("button", name="Add the domain").click()
    await expect(page.get_by_role("alert")).to_contain_text("domain")
    await page.get_by_role("textbox", name="Domain").fill(name)
    await page.get_by_role("button", name="Add the domain").click()
    await expect(page.get_by_role("status").first).to_contain_text("Domain added")
    await expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    await expect(page.get_by_text("Pending", exact=True)).to_be_visible()
    await look(page, "desktop-domain-added", csp)

    await page.get_by_role("button", name="Copy the value of the dkim record").first.click()
    await expect(page.locator("#copy-status")).to_contain_text(re.compile("Copied|Selected"))

    [doc] = await domains.list_domains(db, owner.account_id)
    listed = await gateway.get(f"/api/v1/domains/{doc['_id']}", headers=owner.headers)
    publish(dns, listed.json()["data"]["records"], "dkim", "dmarc")
    await page.get_by_role("button", name="Verify", exact=True).click()
    await expect(page.get_by_text("Verified", exact=True).first).to_be_visible()
    await expect(page.get_by_text("Looked up just now")).to_be_visible()
    await look(page, "desktop-domain-verified", csp)

    await go_to(page, "Domains")
    await expect(page.get_by_role("link", name=name)).to_be_visible()
    await look(page, "desktop-domains", csp)
    await context.close()

    phone = await new_context(browser, str(gateway.base_url).rstrip("/"), PHONE)
    page = await phone.new_page()
    csp = CspWatch()
    csp.attach(page)
    await sign_in_with_the_keyboard(page, owner.key)
    await page.goto(f"{PAGE}/{doc['_id']}")
    await look(page, "phone-domain", csp)
    await page.goto(PAGE)
    await look(page, "phone-domains", csp)
    await phone.close()


async def test_rotate_remove_csrf_and_test_keys_over_http(
    gateway: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    owner = await make_admin(db, "acme")
    await sign_in(gateway, owner.key)
    added = await post_form(gateway, PAGE, PAGE, domain=unique_domain())
    assert added.status_code == 303, added.text
    detail = added.headers["location"].split("?")[0]
    page = await gateway.get(detail)
    assert page.status_code == 200 and page.text.count('data-copy="') == 9  # 5 names, 4 values

    forged = await gateway.post(f"{detail}/rotate-dkim", data={"csrf_token": "forged"})
    assert forged.status_code == 403 and "CSRF_INVALID" in forged.text
    rotated = await post_form(gateway, detail, f"{detail}/rotate-dkim")
    assert rotated.status_code == 303 and "domain-rotated" in rotated.headers["location"]
    assert (await gateway.get(detail)).text.count("._domainkey.") == 2  # unverified: replaced

    removed = await post_form(gateway, f"{detail}/delete", f"{detail}/delete")
    assert removed.status_code == 303
    assert (await gateway.get(detail)).status_code == 404

    # Another account's domain is not found; a test key's session only reads.
    other = await make_admin(db, "other")
    theirs = await domains.create_domain(db, cipher(service_env), other.account_id, "o.example")
    assert (await gateway.get(f"{PAGE}/{theirs['_id']}")).status_code == 404
    token = csrf_token(await gateway.get(PAGE))
    refused = await gateway.post(f"{PAGE}/{theirs['_id']}/delete", data={"csrf_token": token})
    assert refused.status_code == 404
    assert await domains.get_domain(db, other.account_id, str(theirs["_id"])) is not None

    tester = await make_admin(db, "acme", (Permission.PROVIDERS, Permission.CONSOLE), test=True)
    await gateway.post("/console/sign-out", data={"csrf_token": token})
    await sign_in(gateway, tester.key)
    listing = await gateway.get(PAGE)
    assert listing.status_code == 200 and "Add a domain" not in listing.text
    refused = await gateway.post(
        PAGE, data={"csrf_token": csrf_token(listing), "domain": "t.example"}
    )
    assert refused.status_code == 403
