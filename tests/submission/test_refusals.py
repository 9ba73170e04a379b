"""The API's rules as SMTP replies, each seen by a real client: no TLS, no AUTH, a wrong
key (then 421), too many recipients, oversized, suppressed, the send limit, a From the
provider may not send (header injection and malformed MIME: test_malformed)."""

from __future__ import annotations

import asyncio
import smtplib
from pathlib import Path

import aiosmtplib
import pytest

from mailpass_common.platform.db import Collections
from mailpass_common.providers import service as providers
from mailpass_common.suppressions import service as suppressions
from mailpass_common.suppressions.service import Suppression, SuppressionReason
from tests.submission.conftest import Submission, client_context, shared_stack
from tests.submission.refusal_stack import LIMITS, SIMPLE, shared, submission, tls_client
from tests.support.tenants import cipher

__all__ = ["shared", "submission"]  # the module's stack (tests.submission.refusal_stack)


async def test_without_tls_no_auth_is_offered_or_taken(submission: Submission) -> None:
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=submission.port, start_tls=False)
    await client.connect()
    await client.ehlo()
    assert client.supports_extension("starttls")
    assert not client.supports_extension("auth")
    code, message = await client.execute_command(b"AUTH", b"PLAIN", b"AG1haWxwYXNzAHg=")
    assert code == 530, message
    code, message = await client.execute_command(b"MAIL", b"FROM:<noreply@acme.example.com>")
    assert code == 530, message
    await client.quit()


async def test_no_relay_without_authentication(submission: Submission) -> None:
    async with tls_client(submission) as client:
        await client.ehlo()
        assert client.supports_extension("auth")
        assert sorted(client.server_auth_methods) == ["login", "plain"]
        code, message = await client.execute_command(b"MAIL", b"FROM:<noreply@acme.example.com>")
        assert (code, message) == (530, "5.7.0 Authentication required")


async def test_wrong_keys_are_refused_then_the_address_is_cut_off(
    mongo_url: str, amqp_url: str, tmp_path: Path
) -> None:
    # A stack of its own: the address it blocks is the one every test connects from.
    async with shared_stack(mongo_url, amqp_url, tmp_path, **LIMITS) as submission:
        await _cut_off(submission)


async def _cut_off(submission: Submission) -> None:
    def attempts() -> list[int]:
        codes = []
        with smtplib.SMTP("127.0.0.1", submission.port, timeout=10) as client:
            client.starttls(context=client_context())
            client.ehlo()
            for wrong in ("mp_live_nope", "mp_live_still_nope", "mp_live_third"):
                # One mechanism each (login() would try every mechanism offered).
                client.user, client.password = "mailpass", wrong
                try:
                    client.auth("PLAIN", client.auth_plain, initial_response_ok=True)
                except smtplib.SMTPResponseException as exc:
                    codes.append(exc.smtp_code)
        return codes

    assert await asyncio.to_thread(attempts) == [535, 535, 421]
    with pytest.raises(aiosmtplib.SMTPConnectResponseError) as refused:
        await tls_client(submission).connect()
    assert refused.value.code == 421
    # The valid key of another client address would still work; this one waits.


async def test_a_key_without_the_mail_permission_is_refused(submission: Submission) -> None:
    from mailpass_common.tenants import api_keys

    key = await api_keys.create_api_key(submission.db, submission.tenant.account_id, ["keys"])
    client = tls_client(submission)
    async with client:
        with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
            await client.login("mailpass", key.key)
    assert refused.value.code == 535


async def test_recipients_beyond_the_limit_get_452(submission: Submission) -> None:
    async with tls_client(submission) as client:
        await client.login("mailpass", submission.tenant.key)
        await client.mail("noreply@acme.example.com")
        for n in range(3):
            assert (await client.rcpt(f"user{n}@example.com"))[0] == 250
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await client.rcpt("user4@example.com")
        assert refused.value.code == 452
        code, reply = await client.data(SIMPLE)
    assert code == 250, reply


async def test_an_oversized_message_gets_552(submission: Submission) -> None:
    big = SIMPLE + (b"x" * 70 + b"\r\n") * 1024
    async with tls_client(submission) as client:
        await client.ehlo()
        assert client.supports_extension("size")
        await client.login("mailpass", submission.tenant.key)
        await client.mail("noreply@acme.example.com")  # no SIZE given: found out at DATA
        await client.rcpt("ann@example.com")
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await client.data(big)
    assert refused.value.code == 552
    assert await submission.db[Collections.MESSAGES].count_documents({}) == 0


async def test_a_suppressed_recipient_is_refused_at_rcpt_naming_why(submission: Submission) -> None:
    await suppressions.add_many(
        submission.db,
        [
            Suppression(
                submission.tenant.account_id, "gone@example.com", SuppressionReason.BOUNCE, "smtp"
            )
        ],
    )
    async with tls_client(submission) as client:
        await client.login("mailpass", submission.tenant.key)
        await client.mail("noreply@acme.example.com")
        with pytest.raises(aiosmtplib.SMTPRecipientRefused) as refused:
            await client.rcpt("Gone@Example.com")
        assert refused.value.code == 550
        assert refused.value.message.startswith("5.1.1 ")
        assert "suppression list (bounce)" in refused.value.message
        await client.rcpt("ann@example.com")
        code, _ = await client.data(SIMPLE)
    assert code == 250


async def test_the_send_limit_gets_451_so_the_client_retries(submission: Submission) -> None:
    provider = submission.tenant.provider
    assert provider is not None
    providers = submission.service.handler.ctx.providers
    await submission.db[Collections.PROVIDERS].update_one(
        {"_id": provider["_id"]}, {"$set": {"hourly_limit": 1}}
    )
    providers.forget(submission.tenant.account_id)
    try:
        async with tls_client(submission) as client:
            await client.login("mailpass", submission.tenant.key)
            await client.sendmail("noreply@acme.example.com", ["a@example.com"], SIMPLE)
            with pytest.raises(aiosmtplib.SMTPDataError) as refused:
                await client.sendmail("noreply@acme.example.com", ["b@example.com"], SIMPLE)
    finally:
        await submission.db[Collections.PROVIDERS].update_one(
            {"_id": provider["_id"]}, {"$set": {"hourly_limit": None}}
        )
        providers.forget(submission.tenant.account_id)
    assert refused.value.code == 451
    assert refused.value.message.startswith("4.7.1 The provider's hourly sending limit (1)")
    assert await submission.db[Collections.MESSAGES].count_documents({}) == 1


async def test_a_from_domain_the_provider_may_not_send_gets_550_5_7_1(
    submission: Submission,
) -> None:
    """MailPass's own delivery sends only from the account's verified domains: the API's
    DOMAIN_NOT_VERIFIED, said as SMTP."""
    db, account_id = submission.db, submission.tenant.account_id
    relay = submission.tenant.provider
    assert relay is not None
    own = await providers.add_provider(
        db,
        cipher({}),
        account_id=account_id,
        name="own",
        type="mailpass",
        config={},
        from_email="noreply@acme.example.com",
        default=True,
    )
    cache = submission.service.handler.ctx.providers
    cache.forget(account_id)
    try:
        async with tls_client(submission) as client:
            await client.login("mailpass", submission.tenant.key)
            with pytest.raises(aiosmtplib.SMTPDataError) as refused:
                await client.sendmail("noreply@acme.example.com", ["ann@example.com"], SIMPLE)
    finally:
        await providers.set_default_provider(db, account_id, relay["_id"])
        await providers.delete_provider(db, account_id, own["_id"])
        cache.forget(account_id)
    assert refused.value.code == 550
    assert refused.value.message.startswith(
        "5.7.1 acme.example.com is not a verified sending domain of this account"
    )
    assert await db[Collections.MESSAGES].count_documents({}) == 0
