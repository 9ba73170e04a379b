"""``mailpass templates list|export`` and ``accounts set-tracking --unsubscribe``: the
real console script against the test database."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from mailpass_common.platform.db import Database
from mailpass_common.templates import store
from mailpass_common.tenants import accounts
from tests.admin.test_cli import mailpass
from tests.support.tenants import make_account


async def test_list_and_export(db: Database, service_env: dict[str, Any], tmp_path: Path) -> None:
    acme = await make_account(db, "acme")
    other = await make_account(db, "globex")
    parts = store.TemplateParts("Hi {{ name }}", "<p>{{ name }}</p>", None, ["name"])
    first = await store.create(db, acme, name="Welcome", alias="welcome", parts=parts)
    changed = store.TemplateParts("Hey {{ name }}", "<p>{{ name }}</p>", "t", ["name"])
    await store.update(db, acme, "welcome", parts=changed)
    second = await store.create(db, acme, name="Receipt", alias=None, parts=parts)
    await store.create(db, other, name="Theirs", alias="welcome", parts=parts)

    listed = await mailpass(service_env, "templates", "list", "--account", "acme")
    assert listed.code == 0, listed.err
    rows = [line.split("\t") for line in listed.out.strip().splitlines()[1:]]
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (first["_id"], "welcome", "Welcome", "2"),
        (second["_id"], "-", "Receipt", "1"),
    ]

    target = tmp_path / "templates.json"
    everything = await mailpass(
        service_env, "templates", "export", "--account", "acme", "--output", str(target)
    )
    assert everything.code == 0 and "2 template(s)" in everything.err
    exported = json.loads(target.read_text())
    assert [t["name"] for t in exported] == ["Welcome", "Receipt"]
    template = exported[0]
    assert (template["id"], template["subject"], template["text"]) == (
        first["_id"],
        "Hey {{ name }}",
        "t",
    )
    assert [v["version"] for v in template["versions"]] == [2, 1]
    assert template["versions"][1]["subject"] == "Hi {{ name }}"
    missing = await mailpass(
        service_env, "templates", "export", "--account", "acme", "welcome", "nope"
    )
    assert missing.code == 1 and "no template 'nope'" in missing.err


async def test_the_account_default_for_unsubscribe(
    db: Database, service_env: dict[str, Any]
) -> None:
    await make_account(db, "acme")
    on = await mailpass(service_env, "accounts", "set-tracking", "acme", "--unsubscribe")
    assert on.code == 0 and "unsubscribe=True" in on.out
    found = await accounts.get_account_by_name(db, "acme")
    assert accounts.tracking_defaults(found).unsubscribe is True
