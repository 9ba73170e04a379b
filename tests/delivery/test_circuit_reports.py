"""What the console shows of the senders' circuit breakers: each sender reports a circuit
when it opens and when it closes, and nothing while providers are healthy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from mailpass_common.platform.db import Collections, Database
from mailpass_common.providers import circuits
from mailpass_sender.circuit import CircuitBreakers
from tests.delivery.support import FAST_RETRIES
from tests.support.broker import publish
from tests.support.messages import insert_messages, wait_for_status
from tests.support.smtp import SmtpServer
from tests.support.stack import running_sender
from tests.support.tenants import add_provider, make_account, smtp_config


async def wait_for(condition: Any, timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


def test_the_breaker_says_when_an_open_period_starts_and_when_it_closes() -> None:
    now = [0.0]
    breakers = CircuitBreakers(threshold=2, open_seconds=10, clock=lambda: now[0])
    assert breakers.record_failure("p") is False
    assert breakers.record_failure("p") is True  # opens
    assert breakers.record_failure("p") is False  # a delivery already under way
    now[0] = 11
    assert breakers.allows("p")  # the trial
    assert breakers.record_failure("p") is True  # the trial failed: a new period
    assert breakers.record_success("p") is True  # closes
    assert breakers.record_success("p") is False  # was not open
    assert breakers.record_success("other") is False


async def test_an_open_circuit_is_reported_until_a_trial_closes_it(
    db: Database, service_env: dict[str, Any], smtp: SmtpServer
) -> None:
    smtp.handler.fail_next = ["421 4.3.2 overloaded"] * 2
    account_id = await make_account(db)
    provider = await add_provider(
        db, service_env, account_id, name="primary", config=smtp_config(smtp.port), default=True
    )
    [first, second] = await insert_messages(db, account_id, provider["_id"], 2)
    settings = {
        **FAST_RETRIES,
        "sender_max_attempts": 8,
        "circuit_failure_threshold": 2,
        "circuit_open_seconds": 1.0,
    }

    async def reported_open() -> bool:
        return provider["_id"] in await circuits.open_circuits(db, account_id)

    async def reported_closed() -> bool:
        return await db[Collections.CIRCUITS].count_documents({}) == 0

    async with running_sender(service_env, **settings):
        await publish(service_env, [first])
        await wait_for(reported_open)
        state = (await circuits.open_circuits(db, account_id))[provider["_id"]]
        assert state.open_on == 1
        assert datetime.now(UTC) < state.until <= datetime.now(UTC) + timedelta(seconds=1)
        assert await circuits.open_circuits(db, "another-account") == {}
        # The message is retried; once the open period ends, its delivery is the trial.
        await wait_for_status(db, first["_id"], "sent")
        await wait_for(reported_closed)
        await publish(service_env, [second])
        await wait_for_status(db, second["_id"], "sent")
    assert await db[Collections.CIRCUITS].count_documents({}) == 0


async def test_a_report_whose_open_period_ran_out_no_longer_counts(db: Database) -> None:
    past = datetime.now(UTC) - timedelta(seconds=1)
    await circuits.report_open(
        db, provider_id="prv_a", account_id="acc", sender_id="dead", failures=5, until=past
    )
    await circuits.report_open(
        db,
        provider_id="prv_a",
        account_id="acc",
        sender_id="live",
        failures=5,
        until=past + timedelta(minutes=1),
    )
    [state] = (await circuits.open_circuits(db, "acc")).values()
    assert state.open_on == 1 and state.provider_id == "prv_a"
    await circuits.report_closed(db, provider_id="prv_a", sender_id="live")
    assert await circuits.open_circuits(db, "acc") == {}
