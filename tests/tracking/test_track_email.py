"""When the sender tracks: the message's choice, else the account's, else nothing."""

from __future__ import annotations

from typing import Any

import pytest

from mailpass_common import accounts
from mailpass_common.db import Database
from mailpass_common.documents import Collections
from mailpass_sender.flows import outgoing_email
from mailpass_sender.settings import SenderSettings
from mailpass_sender.tracking import track_email

HTML = '<p>Hi <a href="https://shop.example.com/a">order</a></p>'
TEXT = "Hi, see https://shop.example.com/a"
TRACKER = "https://t.acme.test"


async def account_with(db: Database, settings: dict[str, Any] | None) -> str:
    account = await accounts.create_account(db, "acme")
    if settings is not None:
        await db[Collections.ACCOUNTS].update_one(
            {"_id": account["_id"]}, {"$set": {"settings": settings}}
        )
    return str(account["_id"])


def message(account_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "_id": "<m.1700000000@test.mailpass.local>",
        "account_id": account_id,
        "from_email": "noreply@acme.test",
        "to": "user@example.com",
        "subject": "Hi",
        "html": HTML,
        "text": TEXT,
        "track_opens": None,
        "track_clicks": None,
        **fields,
    }


@pytest.mark.parametrize(
    ("account_settings", "overrides", "pixel", "links"),
    [
        (None, {}, False, False),  # the default: nothing tracked
        ({}, {"track_opens": True}, True, False),
        ({"track_opens": True, "track_clicks": True}, {}, True, True),
        ({"track_opens": True, "track_clicks": True}, {"track_clicks": False}, True, False),
        ({"track_opens": False}, {"track_opens": True, "track_clicks": True}, True, True),
    ],
)
async def test_message_choice_wins_over_the_account_default(
    db: Database,
    service_env: dict[str, Any],
    account_settings: dict[str, Any] | None,
    overrides: dict[str, Any],
    pixel: bool,
    links: bool,
) -> None:
    settings = SenderSettings(**service_env, tracker_base_url=TRACKER)
    doc = message(await account_with(db, account_settings), **overrides)
    email = await track_email(db, doc, outgoing_email(doc), settings)
    assert email.text == TEXT
    assert (f'src="{TRACKER}/t/o/' in (email.html or "")) is pixel
    assert (f'href="{TRACKER}/t/c/' in (email.html or "")) is links
    assert ('href="https://shop.example.com/a"' in (email.html or "")) is not links


async def test_a_text_only_message_is_left_alone(db: Database, service_env: dict[str, Any]) -> None:
    settings = SenderSettings(**service_env, tracker_base_url=TRACKER)
    doc = message("acc_x", html=None, track_opens=True, track_clicks=True)
    email = await track_email(db, doc, outgoing_email(doc), settings)
    assert email == outgoing_email(doc)
