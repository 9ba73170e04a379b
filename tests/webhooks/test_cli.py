"""``mailpass webhooks``: the real console script against the test database and a real
webhooks service delivering to a local receiver."""

from __future__ import annotations

from typing import Any

from standardwebhooks import Webhook

from mailpass_common.platform.db import Database
from mailpass_common.webhooks import outbox
from tests.admin.test_cli import mailpass
from tests.support.tenants import make_account
from tests.webhooks.support import Receiver, running_webhooks


async def test_add_list_rotate_attempts_remove(
    db: Database, service_env: dict[str, Any], receiver: Receiver
) -> None:
    account = await make_account(db, "acme")
    env = {**service_env, "webhook_allow_http": "true"}
    refused = await mailpass(
        env, "webhooks", "add", "--account", "acme", "--url", "https://10.0.0.7/", "--event", "sent"
    )
    assert refused.code == 1 and "refused" in refused.err

    url = receiver.url("/cli")
    added = await mailpass(
        env, "webhooks", "add", "--account", "acme", "--url", url, "--event", "sent"
    )
    assert added.code == 0, added.err
    secret = added.out.strip().splitlines()[-1]
    assert secret.startswith("whsec_")
    listed = await mailpass(env, "webhooks", "list", "--account", "acme")
    [row] = listed.out.strip().splitlines()[1:]
    endpoint_id = row.split("\t")[0]
    assert url in row and secret not in listed.out

    rotated = await mailpass(env, "webhooks", "rotate", "--account", "acme", endpoint_id)
    new_secret = rotated.out.strip().splitlines()[-1]
    assert new_secret.startswith("whsec_") and new_secret != secret
    async with running_webhooks(service_env):
        await outbox.emit(db, account, "sent", {"message_id": "<m@x>"})
        await receiver.wait_for(lambda: len(receiver.at("/cli")) == 1)
    [hook] = receiver.at("/cli")
    for key in (secret, new_secret):
        Webhook(key).verify(hook.body, hook.headers)

    shown = await mailpass(env, "webhooks", "attempts", "--account", "acme", endpoint_id)
    [attempt] = shown.out.strip().splitlines()[1:]
    assert "\tsent\t" in attempt and "\tsucceeded\t200\t" in attempt
    removed = await mailpass(env, "webhooks", "remove", "--account", "acme", endpoint_id)
    assert removed.code == 0
    empty = await mailpass(env, "webhooks", "list", "--account", "acme")
    assert empty.out.strip().splitlines()[1:] == []
