"""The console's Webhooks page over HTTP: add (the secret shown once), list, an endpoint's
attempts, replay, delete; and a session without the permission only looks."""

from __future__ import annotations

import re
from typing import Any

import httpx
from standardwebhooks import Webhook

from mailpass_common.platform.db import Database
from mailpass_common.tenants.api_keys import Permission
from mailpass_common.webhooks import outbox
from tests.console.support import csrf_token, post_form, sign_in
from tests.support.tenants import make_admin
from tests.webhooks.support import Receiver, running_webhooks


async def test_add_see_attempts_replay_and_delete(
    db: Database, service_env: dict[str, Any], api: httpx.AsyncClient, receiver: Receiver
) -> None:
    acme = await make_admin(db, "acme")
    await sign_in(api, acme.key)
    listed = await api.get("/console/webhooks")
    assert listed.status_code == 200 and 'aria-current="page">Webhooks' in listed.text

    refused = await post_form(
        api, "/console/webhooks", "/console/webhooks", url="https://10.0.0.1/x", events=["sent"]
    )
    assert refused.status_code == 400 and "refused" in refused.text
    url = receiver.url("/console")
    created = await post_form(
        api, "/console/webhooks", "/console/webhooks", url=url, events=["sent", "open"]
    )
    assert created.status_code == 201, created.text[:500]
    found = re.search(r'value="(whsec_[^"]+)"', created.text)
    assert found
    secret = found.group(1)
    listed = await api.get("/console/webhooks")
    assert url in listed.text and secret not in listed.text
    endpoint_id = re.search(r'href="/console/webhooks/(ep_\w+)"', listed.text)
    assert endpoint_id
    page_path = f"/console/webhooks/{endpoint_id.group(1)}"

    async with running_webhooks(service_env):
        await outbox.emit(db, acme.account_id, "open", {"message_id": "<m@x>"})
        await receiver.wait_for(lambda: len(receiver.at("/console")) == 1)
        page = await api.get(page_path)
        assert "No attempts yet" not in page.text and "Delivered" in page.text
        action = re.search(r'action="(/console/webhooks/ep_\w+/attempts/\w+/replay)"', page.text)
        assert action
        replayed = await api.post(
            action.group(1), data={"csrf_token": csrf_token(page)}, follow_redirects=False
        )
        assert replayed.status_code == 303
        await receiver.wait_for(lambda: len(receiver.at("/console")) == 2)
    for hook in receiver.at("/console"):
        Webhook(secret).verify(hook.body, hook.headers)

    deleted = await post_form(api, f"{page_path}/delete", f"{page_path}/delete")
    assert deleted.headers["location"] == "/console/webhooks?notice=webhook-deleted"
    after = await api.get(deleted.headers["location"])
    assert "Webhook endpoint deleted" in after.text and url not in after.text


async def test_a_session_without_the_permission_only_looks(
    db: Database, api: httpx.AsyncClient
) -> None:
    viewer = await make_admin(db, "acme", (Permission.CONSOLE, Permission.MAIL))
    await sign_in(api, viewer.key)
    page = await api.get("/console/webhooks")
    assert page.status_code == 200 and "lacks the <code>webhooks</code> permission" in page.text
    refused = await api.post(
        "/console/webhooks",
        data={"csrf_token": csrf_token(page), "url": "https://h.example/x", "events": "sent"},
    )
    assert refused.status_code == 403
