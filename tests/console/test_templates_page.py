"""The console's Templates page over HTTP: create, edit (a new version), an old version
shown again, the preview (the draft rendered in the sandboxed frame's policy), Send test
to the sandbox inbox, delete; read-only without the templates permission."""

from __future__ import annotations

import html
import re
import urllib.parse

import httpx

from mailpass_common.platform.db import Database
from mailpass_common.templates import store
from mailpass_common.tenants.api_keys import Permission
from tests.console.support import post_form, sign_in
from tests.support.smtp import SmtpServer
from tests.support.tenants import add_provider, make_admin, smtp_config

PAGE = "/console/templates"


async def test_create_edit_preview_send_test_and_delete(
    console: httpx.AsyncClient, db: Database, service_env: dict[str, object], sandbox: SmtpServer
) -> None:
    admin = await make_admin(db, "acme")
    await add_provider(
        db, service_env, admin.account_id, name="p", config=smtp_config(1), default=True
    )
    await sign_in(console, admin.key)
    broken = await post_form(
        console, PAGE, PAGE, name="Welcome", subject="Hi", html="{% include 'x' %}", text=""
    )
    assert broken.status_code == 400 and "unexpected tag" in broken.text
    made = await post_form(
        console,
        PAGE,
        PAGE,
        name="Welcome",
        alias="welcome",
        subject="Hi {{ name }}",
        html="<p>Hello {{ name }}</p>",
        text="",
    )
    assert made.status_code == 303, made.text
    path = made.headers["location"]
    [doc] = (await store.page(db, admin.account_id, limit=10))[0]
    assert path == f"{PAGE}/{doc['_id']}"
    editor = await console.get(path)
    assert editor.status_code == 200
    assert 'sandbox=""' in editor.text and 'formtarget="template-preview"' in editor.text
    # Sample variables from what the template uses.
    assert '"name": "name"' in html.unescape(editor.text)
    assert 'href="/console/templates" aria-current="page"' in editor.text

    preview = await post_form(
        console,
        path,
        f"{PAGE}/preview",
        subject="x",
        html="<p>{{ name }}</p>",
        text="",
        variables='{"name": "<b>Ann</b>"}',
    )
    assert preview.text == "<p>&lt;b&gt;Ann&lt;/b&gt;</p>"
    assert "sandbox" in preview.headers["content-security-policy"]
    assert "script-src" not in preview.headers["content-security-policy"]
    missing = await post_form(
        console, path, f"{PAGE}/preview", subject="x", html="{{ name }}", text="", variables="{}"
    )
    assert "Not rendered" in missing.text and "name" in missing.text

    saved = await post_form(
        console,
        path,
        path,
        name="Welcome",
        alias="welcome",
        subject="Hey {{ name }}",
        html="<p>Hey {{ name }}</p>",
        text="",
        variables="{}",
    )
    assert saved.status_code == 303 and "template-saved" in saved.headers["location"]
    page = await console.get(path)
    assert "Save as version 3" in page.text and "Hey {{ name }}" in html.unescape(page.text)
    old = await console.get(path, params={"version": "1"})
    assert "showing version 1" in old.text and "Hello {{ name }}" in html.unescape(old.text)

    sent = await post_form(
        console, path, f"{path}/test", to="ann@example.com", variables='{"name": "Ann"}'
    )
    assert sent.status_code == 303, sent.text
    location = sent.headers["location"]
    assert location.startswith("/console/sandbox?id=")
    [received] = await sandbox.wait_for(1)
    assert received.message["Subject"] == "Hey Ann"
    inbox = await console.get(location)
    message_id = urllib.parse.unquote(location.split("id=", 1)[1])
    assert inbox.status_code == 200 and "Hey Ann" in inbox.text
    assert re.search(re.escape(message_id.strip("<>").split("@")[0]), inbox.text)

    deleted = await post_form(console, path, f"{path}/delete")
    assert deleted.status_code == 303
    assert await store.get(db, admin.account_id, "welcome") is None


async def test_without_the_templates_permission_the_page_is_read_only(
    console: httpx.AsyncClient, db: Database
) -> None:
    owner = await make_admin(db, "acme")
    parts = store.TemplateParts("s", "<p>x</p>", None, [])
    doc = await store.create(db, owner.account_id, name="T", alias=None, parts=parts)
    reader = await make_admin(db, "acme", (Permission.MAIL, Permission.CONSOLE))
    await sign_in(console, reader.key)
    page = await console.get(PAGE)
    assert page.status_code == 200 and "New template" not in page.text and "T</a>" in page.text
    editor = await console.get(f"{PAGE}/{doc['_id']}")
    assert "Save as version" not in editor.text and "Send test" in editor.text
    refused = await post_form(console, PAGE, PAGE, name="x", subject="s", html="<p>x</p>", text="")
    assert refused.status_code == 403
    refused = await post_form(console, PAGE, f"{PAGE}/{doc['_id']}/delete")
    assert refused.status_code == 403
