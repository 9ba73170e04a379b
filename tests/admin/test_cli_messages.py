"""``mailpass messages show|list``: the real console script after real traffic, telling
where each message stands without anyone reading a log."""

from __future__ import annotations

from typing import Any

from mailpass_cli.messages import stamp
from mailpass_common.messages import events
from mailpass_common.messages import service as messages
from mailpass_common.messages.search import whole_second
from mailpass_common.platform.db import Database
from mailpass_common.platform.jobs import MessageKind
from tests.support.messages import insert_messages
from tests.support.processes import run_cli
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import make_tenant

MESSAGE = {"to": "user@example.com", "subject": "Hello", "text": "Hi there"}
GREYLISTED = "451 4.7.1 greylisted, try again later"


async def test_show_and_list_tell_why_a_message_is_not_sent_yet(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    tenant = await make_tenant(db, service_env, "acme", smtp_port=smtp.port)
    assert tenant.provider is not None
    async with (
        running_sender(service_env, sender_retry_base_seconds=600),
        running_gateway(service_env) as api,
    ):
        sent = await api.post("/api/v1/mail/send", json=MESSAGE, headers=tenant.headers)
        smtp.handler.fail_next = [GREYLISTED]
        deferred = await api.post("/api/v1/mail/send", json=MESSAGE, headers=tenant.headers)
    [waiting] = await insert_messages(
        db, tenant.account_id, tenant.provider["_id"], 1, kind=MessageKind.BATCH
    )
    sent_id = sent.json()["data"]["message_id"]
    deferred_id = deferred.json()["data"]["message_id"]
    assert (sent.status_code, deferred.status_code) == (200, 202)
    deferred_doc = await messages.get_message(db, deferred_id)
    assert deferred_doc is not None
    deferral = await events.last_deferral(db, deferred_doc)
    assert deferral is not None
    due = events.retry_due(deferral)
    assert due is not None and 400 < (due - deferral["created_at"]).total_seconds() < 800

    code, shown = await run_cli(service_env, "messages", "show", deferred_id.strip("<>"))
    assert code == 0, shown
    assert f"message   {deferred_id}" in shown
    assert f"status    deferred: next attempt at {stamp(due)} (in " in shown
    [line] = [line for line in shown.splitlines() if " deferred " in line]
    assert line.startswith(stamp(deferral["created_at"]))
    assert f"attempt 1  {GREYLISTED}  -> retry at {stamp(due)}" in line  # the reply, as given
    assert "Hi there" not in shown  # never the content

    code, shown = await run_cli(service_env, "messages", "show", sent_id)
    assert code == 0, shown
    assert "status    sent at " in shown and " by smtp " in shown
    [line] = [line for line in shown.splitlines() if line.endswith("Ok: queued")]
    assert line.endswith("  sent       2.0.0 Ok: queued")  # the SMTP server's reply

    code, shown = await run_cli(service_env, "messages", "show", waiting["_id"])
    assert code == 0, shown
    assert "status    queued: waiting for the scheduler to publish it" in shown

    code, listed = await run_cli(service_env, "messages", "list", "--account", "acme")
    assert code == 0, listed
    rows = [line.split("\t") for line in listed.splitlines()[1:-1]]
    # Newest first, by the second each was accepted, then by id (message_search's order).
    docs = [await messages.get_message(db, i) for i in (waiting["_id"], deferred_id, sent_id)]
    order = sorted(
        (d for d in docs if d is not None),
        key=lambda d: (whole_second(d["created_at"]), d["_id"]),
        reverse=True,
    )
    assert [row[0] for row in rows] == [d["_id"] for d in order]
    status_of = {waiting["_id"]: "queued", deferred_id: "deferred", sent_id: "sent"}
    assert [row[1] for row in rows] == [status_of[row[0]] for row in rows]
    [deferred_row] = [row for row in rows if row[0] == deferred_id]
    assert deferred_row[4] == stamp(due) and deferred_row[6] == GREYLISTED

    code, listed = await run_cli(
        service_env, "messages", "list", "--account", "acme", "--status", "deferred"
    )
    assert code == 0, listed
    assert [line.split("\t")[0] for line in listed.splitlines()[1:-1]] == [deferred_id]

    code, missing = await run_cli(service_env, "messages", "show", "nope@example.com")
    assert code == 1 and "no message <nope@example.com>" in missing
