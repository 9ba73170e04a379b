"""The API's rules as SMTP replies, each seen by a real client: no TLS, no AUTH, a wrong
key (then 421), too many recipients, oversized, suppressed, the send limit, header
injection and malformed MIME; none of them ends the session in a crash."""

from __future__ import annotations

import asyncio
import base64
import smtplib
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import aiosmtplib
import pytest

from mailpass_common.platform.db import Collections
from mailpass_common.providers import service as providers
from mailpass_common.suppressions import service as suppressions
from mailpass_common.suppressions.service import Suppression, SuppressionReason
from tests.submission.conftest import Submission, client_context, shared_stack
from tests.support.tenants import cipher

SIMPLE = b"From: noreply@acme.example.com\r\nTo: ann@example.com\r\nSubject: s\r\n\r\nbody\r\n"


LIMITS = {"smtp_max_recipients": 3, "smtp_auth_failures": 3, "max_message_bytes": 64 * 1024}


@pytest.fixture(scope="module")
async def shared(
    mongo_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Submission]:
    async with shared_stack(mongo_url, amqp_url, tmp_path_factory.mktemp("tls"), **LIMITS) as s:
        yield s


@pytest.fixture
async def submission(shared: Submission) -> AsyncIterator[Submission]:
    """The module's service, its messages and suppressions cleared after each test."""
    yield shared
    for collection in (Collections.MESSAGES, Collections.MESSAGE_BODIES, Collections.SUPPRESSIONS):
        await shared.db[collection].delete_many({})
    await shared.db[Collections.COUNTERS].delete_many({})


def tls_client(submission: Submission) -> aiosmtplib.SMTP:
    return aiosmtplib.SMTP(
        hostname="127.0.0.1", port=submission.tls_port, use_tls=True, tls_context=client_context()
    )


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


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            b"From: noreply@acme.example.com\r\nSubject: one\r\nSubject: two\r\n\r\nx\r\n",
            "Subject header appears twice",
        ),
        (b"From: noreply@acme.example.com\r\nnot a header\r\n\r\nx\r\n", "is not 'Name: value'"),
        (b"Subject: no from\r\n\r\nx\r\n", "no From header"),
        (
            b"From: noreply@acme.example.com\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
            b"Content-Type: text/plain\r\n\r\nunterminated\r\n",
            "malformed MIME",
        ),
        (
            b"From: noreply@acme.example.com\r\nX-MailPass-Metadata: [1, 2]\r\n\r\nx\r\n",
            "X-MailPass-Metadata must be a JSON object",
        ),
        (
            b"From: noreply@acme.example.com\r\nX-MailPass-Tags: ok, not ok!\r\n\r\nx\r\n",
            "X-MailPass-Tags",
        ),
        (
            b"From: noreply@acme.example.com\r\nMIME-Version: 1.0\r\n"
            b'Content-Type: multipart/mixed; boundary="b1"\r\n\r\n--b1\r\n'
            b"Content-Type: application/octet-stream\r\n"
            b'Content-Disposition: attachment; filename="setup.exe"\r\n'
            b"Content-Transfer-Encoding: base64\r\n\r\nTVqQAAMAAAAEAAAA\r\n--b1--\r\n",
            "executable files are refused",
        ),
    ],
)
async def test_injection_and_malformed_mime_get_5xx_and_the_session_goes_on(
    submission: Submission, content: bytes, expected: str
) -> None:
    async with tls_client(submission) as client:
        await client.login("mailpass", submission.tenant.key)
        with pytest.raises(aiosmtplib.SMTPDataError) as refused:
            await client.sendmail("noreply@acme.example.com", ["ann@example.com"], content)
        assert 550 <= refused.value.code <= 554
        assert expected in refused.value.message
        code, _ = await client.noop()
        assert code == 250
        _, reply = await client.sendmail("noreply@acme.example.com", ["ann@example.com"], SIMPLE)
    assert reply.startswith("2.0.0 Ok: queued as <")
    assert await submission.db[Collections.MESSAGES].count_documents({}) == 1


def raw_session(port: int, key: str, content: bytes) -> bytes:
    """An SMTP session over implicit TLS that sends ``content`` exactly as given (smtplib
    and aiosmtplib both turn bare LFs into CRLF, as a client should)."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=10) as plain,
        client_context().wrap_socket(plain) as sock,
    ):
        reader = sock.makefile("rb")

        def command(line: bytes) -> bytes:
            sock.sendall(line + b"\r\n")
            reply = reader.readline()
            while reply[3:4] == b"-":
                reply = reader.readline()
            return reply

        reader.readline()  # greeting
        command(b"EHLO client.test")
        plain_auth = base64.b64encode(b"\0mailpass\0" + key.encode())
        assert command(b"AUTH PLAIN " + plain_auth).startswith(b"235")
        command(b"MAIL FROM:<noreply@acme.example.com>")
        command(b"RCPT TO:<ann@example.com>")
        assert command(b"DATA").startswith(b"354")
        return command(content + b"\r\n.")


async def test_a_bare_lf_is_refused(submission: Submission) -> None:
    # A bare LF smuggles a Bcc into the header section for any reader that splits on LF.
    content = b"From: noreply@acme.example.com\r\nSubject: hi\nBcc: victim@example.com\r\n\r\nx"
    reply = await asyncio.to_thread(
        raw_session, submission.tls_port, submission.tenant.key, content
    )
    assert reply.startswith(b"554 5.6.0 Message refused: bare CR or LF"), reply
    assert await submission.db[Collections.MESSAGES].count_documents({}) == 0


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
