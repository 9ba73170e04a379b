"""Click targets outside Latin-1 end to end: rewritten by the sender's link rewriter,
clicked at the real tracker, redirected to the ASCII URL a browser would visit, and
recorded once."""

from __future__ import annotations

import asyncio
import struct
from html.parser import HTMLParser
from typing import Any

from mailpass_common.messages.signed_links import TrackingSigner
from mailpass_common.platform.db import Collections, Database
from mailpass_sender.link_rewriter import apply_tracking
from mailpass_tracker.settings import TrackerSettings
from tests.tracking.support import client_from, insert_sent_message, running_tracker

MESSAGE_ID = "<intl.1700000000@test.mailpass.local>"
LINKS = {
    "https://例え.jp/パス": "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9",
    "https://example.ru/каталог/книги?автор=Пушкин": (
        "https://example.ru/%D0%BA%D0%B0%D1%82%D0%B0%D0%BB%D0%BE%D0%B3/%D0%BA%D0%BD%D0%B8%D0%B3%D0%B8"
        "?%D0%B0%D0%B2%D1%82%D0%BE%D1%80=%D0%9F%D1%83%D1%88%D0%BA%D0%B8%D0%BD"
    ),
}


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs.append(dict(attrs).get("href") or "")


async def _clicks(db: Database, expected: int) -> list[dict[str, Any]]:
    for _ in range(100):
        found = await db[Collections.EVENTS].find({}, projection={"_id": 0}).to_list()
        if len(found) >= expected:
            return found
        await asyncio.sleep(0.05)
    return found


async def test_international_links_redirect_to_ascii_and_are_recorded_once(
    db: Database, service_env: dict[str, Any]
) -> None:
    await insert_sent_message(db, MESSAGE_ID, "acc_a")
    signer = TrackingSigner(TrackerSettings(**service_env).secret_key.get_secret_value())
    async with running_tracker(service_env, tracker_flush_interval_seconds=0.05) as tracker:
        html = "".join(f'<a href="{target}">link</a>' for target in LINKS)
        rewritten = apply_tracking(
            html, message_id=MESSAGE_ID, signer=signer, base_url=tracker, opens=False, clicks=True
        )
        parser = _Hrefs()
        parser.feed(rewritten)
        assert len(parser.hrefs) == len(LINKS)
        async with client_from("127.0.0.2", tracker) as web:
            answers = [await web.get(href) for href in parser.hrefs]
        recorded = await _clicks(db, len(LINKS))

    assert [a.status_code for a in answers] == [302, 302]
    assert [a.headers["location"] for a in answers] == list(LINKS.values())
    assert sorted(e["url"] for e in recorded) == sorted(LINKS.values())
    assert [e["event_type"] for e in recorded] == ["click", "click"]


async def test_a_link_signed_before_targets_were_normalized_still_redirects(
    db: Database, service_env: dict[str, Any]
) -> None:
    await insert_sent_message(db, MESSAGE_ID, "acc_a")
    signer = TrackingSigner(TrackerSettings(**service_env).secret_key.get_secret_value())
    # The token format of earlier versions, with the target as written in the email.
    message_id = MESSAGE_ID.encode()
    payload = (
        struct.pack(">BBH", 1, 2, len(message_id))
        + message_id
        + struct.pack(">I", 0)
        + "https://例え.jp/パス".encode()
    )
    token = signer._seal(payload)
    async with running_tracker(service_env, tracker_flush_interval_seconds=0.05) as tracker:
        async with client_from("127.0.0.2", tracker) as web:
            answer = await web.get(f"/t/c/{token}")
        recorded = await _clicks(db, 1)
    assert answer.status_code == 302
    assert answer.headers["location"] == "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9"
    assert [e["url"] for e in recorded] == ["https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9"]
