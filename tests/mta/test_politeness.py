"""Polite delivery: the next MX when one cannot take mail, shared back-off on 421/4.7.x,
sessions reused within per-host limits, and a retry that skips domains already served."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import REGISTRY

from mailpass_common.mta import backoff, progress
from mailpass_common.providers.delivery.base import TemporaryDeliveryError
from mailpass_common.providers.delivery.mime import render
from tests.mta.conftest import Internet
from tests.mta.support import new_domain, outgoing


async def test_421_greeting_backs_the_host_off_for_every_sender(internet: Internet) -> None:
    sender = internet.sending_domain()
    shop = new_domain()
    busy = await internet.greeter(shop, 10, b"421 4.7.0 mx10 too busy, come back later\r\n")
    backup = internet.mx(shop, 20)
    email = outgoing(f"orders@{sender}", f"a@{shop}")

    backoffs = REGISTRY.get_sample_value("mailpass_mta_backoffs_total") or 0.0
    await internet.engine().deliver(email, render(email), "acc_mta")
    assert busy.connections == 1 and len(backup.received) == 1
    assert REGISTRY.get_sample_value("mailpass_mta_backoffs_total") == backoffs + 1
    stored = await internet.db[backoff.COLLECTION].find_one({"_id": f"mx10.{shop}"})
    assert stored is not None and "421 4.7.0" in stored["reason"]

    # Another sender replica: it leaves the host alone without trying it.
    replica = internet.engine()
    again = outgoing(f"orders@{sender}", f"b@{shop}", n=2)
    await replica.deliver(again, render(again), "acc_mta")
    assert busy.connections == 1 and len(backup.received) == 2

    # A domain served by that host alone waits (deferred), with no connection.
    only = new_domain()
    internet.dns.add(only, "MX", f"10 mx10.{shop}.")
    waiting = outgoing(f"orders@{sender}", f"c@{only}", n=3)
    with pytest.raises(TemporaryDeliveryError, match="asked us to slow down") as deferred:
        await replica.deliver(waiting, render(waiting), "acc_mta")
    assert deferred.value.destination == only
    assert busy.connections == 1


async def test_policy_deferral_at_data_backs_off_and_slow_hosts_are_passed(
    internet: Internet,
) -> None:
    sender = internet.sending_domain()
    shop = new_domain()
    internet.mx(shop, 10, fail_next=["451 4.7.1 greylisted, try again in 5 minutes"])
    email = outgoing(f"orders@{sender}", f"a@{shop}")
    engine = internet.engine(timeout_seconds=0.5)
    with pytest.raises(TemporaryDeliveryError, match="greylisted"):
        await engine.deliver(email, render(email), "acc_mta")
    assert await internet.db[backoff.COLLECTION].count_documents({"_id": f"mx10.{shop}"}) == 1

    slow = new_domain()
    await internet.greeter(slow, 10, b"220 finally\r\n", delay=3.0)
    fast = internet.mx(slow, 20)
    email = outgoing(f"orders@{sender}", f"a@{slow}", n=2)
    await engine.deliver(email, render(email), "acc_mta")
    assert len(fast.received) == 1


async def test_sessions_reused_within_per_host_limits(internet: Internet) -> None:
    sender = internet.sending_domain()
    shop = new_domain()
    mx = internet.mx(shop, 10)
    before = mx.connections
    # Replies may come slowly on a busy machine (the MX runs in a thread of this process,
    # beside the test's pure-Python DKIM signing): a reply timing out would close a session
    # and open a fifth, which is not what this test is about.
    engine = internet.engine(
        max_connections_per_host=2, max_messages_per_connection=3, timeout_seconds=20.0
    )
    emails = [outgoing(f"orders@{sender}", f"u{n}@{shop}", n=n) for n in range(12)]

    await asyncio.gather(*(engine.deliver(e, render(e), "acc_mta") for e in emails))

    assert len(mx.received) == 12
    assert mx.connections - before == 4  # 12 messages, 3 per session
    assert mx.most_open <= 2
    assert engine.pool.open_sessions <= 2


async def test_retry_skips_domains_already_served(internet: Internet) -> None:
    sender = internet.sending_domain()
    first, second = new_domain(), new_domain()
    served = internet.mx(first, 10)
    later = internet.mx(second, 10, fail_next=["450 4.2.0 mailbox busy"])
    email = outgoing(f"orders@{sender}", f"a@{first}", f"b@{second}")
    engine = internet.engine()

    with pytest.raises(TemporaryDeliveryError, match="mailbox busy"):
        await engine.deliver(email, render(email), "acc_mta")
    assert await progress.settled_domains(internet.db, email.message_id) == {first}

    result = await engine.deliver(email, render(email), "acc_mta")
    assert len(served.received) == 1  # not sent again
    assert [r.rcpt_tos for r in later.received] == [[f"b@{second}"]]
    assert second in result.reply


async def test_idle_sessions_are_closed_with_quit(internet: Internet) -> None:
    sender = internet.sending_domain()
    shop = new_domain()
    mx = internet.mx(shop, 10)
    before = mx.connections
    engine = internet.engine(idle_seconds=0.6)
    await engine.start()
    email = outgoing(f"orders@{sender}", f"u@{shop}")

    await engine.deliver(email, render(email), "acc_mta")
    assert mx.open_now == 1 and engine.pool.open_sessions == 1  # kept for the next message

    await asyncio.sleep(1.5)  # idle 0.6 s, swept every 0.2 s
    assert mx.open_now == 0 and engine.pool.open_sessions == 0
    assert mx.connections - before == 1 and len(mx.received) == 1
