"""When the sender tracks: the message's choice, else the account's, else nothing."""

from __future__ import annotations

from typing import Any

import pytest

from mailpass_common.messages.models import MessageDocument, new_message
from mailpass_common.platform.db import Database
from mailpass_common.platform.jobs import MessageKind
from mailpass_common.providers.delivery.base import OutgoingEmail
from mailpass_common.tenants import accounts
from mailpass_common.tenants.accounts import TrackingDefaults
from mailpass_sender.flows import outgoing_email
from mailpass_sender.link_rewriter import track_email, tracking_choice

HTML = '<p>Hi <a href="https://shop.example.com/a">order</a></p>'
TEXT = "Hi, see https://shop.example.com/a"
TRACKER = "https://t.acme.test"


async def defaults_of(db: Database, settings: dict[str, bool] | None) -> TrackingDefaults:
    """An account with these tracking settings (None: never set), as the sender reads it."""
    await accounts.create_account(db, "acme")
    if settings is not None:
        await accounts.set_tracking(
            db, "acme", opens=settings.get("track_opens"), clicks=settings.get("track_clicks")
        )
    return accounts.tracking_defaults(await accounts.get_account_by_name(db, "acme"))


def message(**fields: Any) -> MessageDocument:
    doc = new_message(
        message_id="<m.1700000000@test.mailpass.local>",
        account_id="acc_x",
        kind=MessageKind.IMMEDIATE,
        sandbox=False,
        provider_id="prv_x",
        from_email="noreply@acme.test",
        from_name=None,
        to="user@example.com",
        subject="Hi",
        html=fields.pop("html", HTML),
        text=TEXT,
    )
    doc.update(fields)  # type: ignore[typeddict-item]
    return doc


async def tracked(doc: MessageDocument, defaults: TrackingDefaults) -> OutgoingEmail:
    choice = tracking_choice(doc, defaults)
    result = await track_email(
        outgoing_email(doc), choice, secret="s" * 32, tracker_base_url=TRACKER, budget_seconds=5
    )
    assert result.skipped is None
    return result.email


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
    account_settings: dict[str, bool] | None,
    overrides: dict[str, Any],
    pixel: bool,
    links: bool,
) -> None:
    email = await tracked(message(**overrides), await defaults_of(db, account_settings))
    assert email.text == TEXT
    assert (f'src="{TRACKER}/t/o/' in (email.html or "")) is pixel
    assert (f'href="{TRACKER}/t/c/' in (email.html or "")) is links
    assert ('href="https://shop.example.com/a"' in (email.html or "")) is not links


async def test_a_text_only_message_is_left_alone() -> None:
    doc = message(html=None, track_opens=True, track_clicks=True)
    assert await tracked(doc, TrackingDefaults(opens=True, clicks=True)) == outgoing_email(doc)
