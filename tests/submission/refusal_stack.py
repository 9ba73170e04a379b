"""One mailpass-smtp (no sender: nothing it stores is delivered) per test module of
refusals, with small limits; its messages, suppressions and counters cleared after each
test. The modules that use it import its fixtures (pytest finds them there)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import aiosmtplib
import pytest

from mailpass_common.platform.db import Collections
from tests.submission.conftest import Submission, client_context, shared_stack

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
