"""Tracking end to end: gateway → RabbitMQ → sender → SMTP, then the real tracker and status."""

from __future__ import annotations

import urllib.parse
from html.parser import HTMLParser
from typing import Any

import pytest

from mailpass_common.messages.signed_links import TrackedClick, TrackedOpen, TrackingSigner
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.providers import service as providers
from mailpass_common.tenants import accounts, api_keys
from mailpass_common.tenants.api_keys import Permission
from mailpass_sender.link_rewriter import apply_tracking
from mailpass_tracker import classify
from tests.support.smtp import SmtpServer
from tests.support.stack import running_gateway, running_sender
from tests.tracking.support import client_from, running_tracker

TARGET = "https://shop.example.com/orders/42?ref=mail&x=1"
HTML = (
    "<html><body><p>Your order is confirmed.</p>\n"
    '<p><a href="https://shop.example.com/orders/42?ref=mail&amp;x=1">View order</a></p>\n'
    '<p><a href="mailto:help@acme.test">Write to us</a> '
    '<a href="https://acme.test/unsubscribe?u=1">Unsubscribe</a></p>\n'
    "</body></html>"
)
TEXT = f"Your order is confirmed: {TARGET}"
APPLE_MPP = "Mozilla/5.0"
THUNDERBIRD = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Thunderbird/128.3.1"


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []
        self.images: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a":
            self.hrefs.append(values.get("href") or "")
        elif tag == "img":
            self.images.append(values.get("src") or "")


async def api_key(db: Database, env: dict[str, Any], name: str, smtp_port: int) -> str:
    cipher = CredentialCipher(CommonSettings(**env).secret_key.get_secret_value())
    account = await accounts.create_account(db, name)
    await providers.add_provider(
        db,
        cipher,
        account_id=account["_id"],
        name="local",
        type="smtp",
        config={"host": "127.0.0.1", "port": smtp_port, "security": "none"},
        from_email=f"noreply@{name}.test",
        default=True,
    )
    return (await api_keys.create_api_key(db, account["_id"], [Permission.MAIL])).key


async def test_tracked_message_records_opens_and_clicks_shown_in_its_status(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # This test clicks within a second of sending, which the classifier would (rightly)
    # call a scanner; its timing rule has its own tests (tests/tracking/test_classify.py).
    monkeypatch.setattr(classify, "CLICK_SCANNER_SECONDS", 0.0)
    key = await api_key(db, service_env, "acme", smtp.port)
    other_key = await api_key(db, service_env, "other", smtp.port)
    auth = {"Authorization": f"Bearer {key}"}
    request = {
        "to": "user@example.com",
        "subject": "Order confirmed",
        "html": HTML,
        "text": TEXT,
        "track_opens": True,
        "track_clicks": True,
    }

    async with running_gateway(service_env) as api:
        async with running_tracker(service_env, tracker_flush_interval_seconds=0.05) as tracker:
            async with running_sender(service_env, management_port=0, tracker_base_url=tracker):
                sent = await api.post("/api/v1/mail/send", json=request, headers=auth)
                assert sent.status_code == 200, sent.text
                message_id = sent.json()["data"]["message_id"]
                [received] = await smtp.wait_for(1)

            # SMTP carries CRLF line ends; the content is compared line by line.
            parts = {
                p.get_content_type(): p.get_content().replace("\r\n", "\n").rstrip("\n")
                for p in received.message.iter_parts()
            }
            assert parts["text/plain"] == TEXT  # the text part is untouched
            html = parts["text/html"]
            signer = TrackingSigner(CommonSettings(**service_env).secret_key.get_secret_value())
            expected = apply_tracking(
                HTML,
                message_id=message_id,
                signer=signer,
                base_url=tracker,
                opens=True,
                clicks=True,
            )
            assert html == expected  # only the tracked href and the pixel differ from HTML

            links = _Links()
            links.feed(html)
            [pixel] = links.images
            tracked, mailto, unsubscribe = links.hrefs
            assert pixel.startswith(f"{tracker}/t/o/") and tracked.startswith(f"{tracker}/t/c/")
            assert signer.verify(pixel.rsplit("/", 1)[1]) == TrackedOpen(message_id)
            assert signer.verify(tracked.rsplit("/", 1)[1]) == TrackedClick(message_id, 0, TARGET)
            assert mailto == "mailto:help@acme.test"
            assert unsubscribe == "https://acme.test/unsubscribe?u=1"

            forged = {"X-Forwarded-For": "198.51.100.23"}
            # Apple's proxy fetches the pixel from its own address (one open per message,
            # address and minute is kept).
            async with client_from("127.0.0.4", tracker) as apple_proxy:
                mpp = await apple_proxy.get(pixel, headers={"User-Agent": APPLE_MPP, **forged})
            async with client_from("127.0.0.3", tracker) as reader:
                opened = await reader.get(pixel, headers={"User-Agent": THUNDERBIRD})
                clicked = await reader.get(tracked, headers={"User-Agent": THUNDERBIRD})
                tampered = await reader.get(
                    tracked[:-3] + ("AAA" if tracked[-3:] != "AAA" else "BBB")
                )
            assert mpp.status_code == opened.status_code == 200
            assert mpp.headers["content-type"] == "image/gif"
            assert clicked.status_code == 302 and clicked.headers["location"] == TARGET
            assert tampered.status_code == 404 and "location" not in tampered.headers
        # Leaving the tracker's block shut it down, which wrote every buffered event.

        quoted = urllib.parse.quote(message_id, safe="")
        status = await api.get(f"/api/v1/mail/status/{quoted}", headers=auth)
        hidden = await api.get(
            f"/api/v1/mail/status/{quoted}", headers={"Authorization": f"Bearer {other_key}"}
        )

    assert status.status_code == 200, status.text
    data = status.json()["data"]
    assert data["message"]["message_id"] == message_id and data["message"]["status"] == "sent"
    events = data["events"]
    assert [(e["event_type"], e.get("classification")) for e in events] == [
        ("sent", None),
        ("open", "machine_open"),
        ("open", "human"),
        ("click", "human"),
    ]
    _, mpp_open, human_open, click = events
    spec_fields = {"event_type", "ip_address", "user_agent", "created_at"}
    assert set(mpp_open) == set(human_open) == spec_fields | {"classification"}
    assert set(click) == spec_fields | {"classification", "url"}
    assert click["url"] == TARGET
    # The reader's address is its own: a forged X-Forwarded-For from an untrusted peer is not.
    assert [e["ip_address"] for e in events[1:]] == ["127.0.0.4", "127.0.0.3", "127.0.0.3"]
    assert mpp_open["user_agent"] == APPLE_MPP and click["user_agent"] == THUNDERBIRD
    assert [e["created_at"] for e in events] == sorted(e["created_at"] for e in events)

    assert hidden.status_code == 404  # another account sees neither the message nor its events
    assert hidden.json()["success"] is False
