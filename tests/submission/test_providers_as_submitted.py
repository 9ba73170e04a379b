"""A submitted message through the provider types that build messages from fields:
SendGrid's API cannot send a message as it came, and says so instead of losing parts."""

from __future__ import annotations

import pytest

from mailpass_common.providers.delivery.base import OutgoingEmail, PermanentDeliveryError
from tests.support.egress import LOCAL_EGRESS
from tests.support.fake_http_apis import FakeSendGrid
from tests.support.providers import sendgrid_provider

RAW = b"From: a@acme.example.com\r\nTo: b@example.com\r\nSubject: s\r\nX-Own: kept\r\n\r\nx\r\n"


async def test_sendgrid_refuses_a_submitted_message_for_good() -> None:
    api = FakeSendGrid().start()
    provider = sendgrid_provider(
        {"base_url": api.base_url}, {"api_key": api.api_key}, egress=LOCAL_EGRESS
    )
    email = OutgoingEmail(
        message_id="<m.1@test.mailpass.local>",
        from_email="a@acme.example.com",
        from_name=None,
        to="b@example.com",
        subject="s",
        text="x\n",
        as_submitted=True,
    )
    try:
        with pytest.raises(PermanentDeliveryError, match="submitted over SMTP"):
            await provider.send(email, RAW)
        assert api.received == []
    finally:
        await provider.close()
        api.stop()
