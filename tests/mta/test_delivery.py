"""MailPass delivering by itself: MX order, one transaction per domain, DKIM, VERP, replies."""

from __future__ import annotations

import pytest

from mailpass_common.mta import verp
from mailpass_common.platform.egress import EgressPolicy
from mailpass_common.providers.delivery.base import PermanentDeliveryError, TemporaryDeliveryError
from mailpass_common.providers.delivery.mime import render
from tests.mta.conftest import HELO, RETURN_PATH_DOMAIN, SECRET, Internet
from tests.mta.support import dkim_verifies, new_domain, outgoing


async def test_mx_by_preference_one_transaction_per_domain_signed_with_verp(
    internet: Internet,
) -> None:
    sender = internet.sending_domain()
    shop = new_domain()
    internet.dead_mx(shop, 5)  # refuses connections: the next MX takes the mail
    backup = internet.mx(shop, 20)
    other = new_domain()  # no MX, an address: its own mail host (implicit MX)
    implicit = internet.mx(other, 0)
    internet.dns.remove(other)
    internet.dns.add(other, "A", implicit._controller.hostname)
    email = outgoing(f"orders@{sender}", f"a@{shop}", f"b@{shop}", f"c@{other}")

    result = await internet.engine().deliver(email, render(email), "acc_mta")

    assert "250" in result.reply
    [to_shop] = backup.received
    assert sorted(to_shop.rcpt_tos) == [f"a@{shop}", f"b@{shop}"]  # one transaction
    [to_other] = implicit.received
    assert to_other.rcpt_tos == [f"c@{other}"]
    assert backup.handler.seen == [(HELO, False)]
    return_path = verp.parse(to_shop.mail_from, RETURN_PATH_DOMAIN)
    assert return_path is not None
    assert return_path.signs(email.message_id, verp.keys_from_secrets(SECRET))
    assert dkim_verifies(to_shop.data, internet.dns.nameserver)
    assert b"d=" + sender.encode() in to_shop.data


async def test_unsigned_domain_fails_before_any_connection(internet: Internet) -> None:
    shop = new_domain()
    mx = internet.mx(shop, 10)
    email = outgoing(f"orders@{new_domain()}", f"a@{shop}")
    with pytest.raises(PermanentDeliveryError, match="no verified DKIM key"):
        await internet.engine().deliver(email, render(email), "acc_mta")
    assert mx.connections == 1  # the controller's own start-up check only


@pytest.mark.parametrize(
    ("record", "reply"),
    [("0 .", "556 5.1.10"), (None, "550 5.1.2")],
    ids=["null-mx", "nxdomain"],
)
async def test_null_mx_and_nxdomain_fail_at_once_as_hard_bounces(
    internet: Internet, record: str | None, reply: str
) -> None:
    sender = internet.sending_domain()
    nowhere = new_domain()
    if record is not None:
        internet.dns.add(nowhere, "MX", record)
    email = outgoing(f"orders@{sender}", f"a@{nowhere}")
    with pytest.raises(PermanentDeliveryError) as failure:
        await internet.engine().deliver(email, render(email), "acc_mta")
    assert failure.value.reply.startswith(reply)
    assert [b.address for b in failure.value.bounced] == [f"a@{nowhere}"]


async def test_replies_classified_like_the_smtp_provider(internet: Internet) -> None:
    sender = internet.sending_domain()
    shop = new_domain()
    internet.mx(
        shop,
        10,
        refuse_rcpt={f"gone@{shop}": "550 5.1.1 no such user"},
        fail_next=["451 4.3.0 try again later", "554 5.7.1 message refused as spam"],
    )
    engine = internet.engine()

    gone = outgoing(f"orders@{sender}", f"gone@{shop}")
    with pytest.raises(PermanentDeliveryError) as bounced:
        await engine.deliver(gone, render(gone), "acc_mta")
    assert bounced.value.reply == f"550 gone@{shop}: 5.1.1 no such user"
    assert [b.address for b in bounced.value.bounced] == [f"gone@{shop}"]

    later = outgoing(f"orders@{sender}", f"a@{shop}")
    with pytest.raises(TemporaryDeliveryError, match=r"451 4\.3\.0 try again later"):
        await engine.deliver(later, render(later), "acc_mta")

    spam = outgoing(f"orders@{sender}", f"a@{shop}")
    with pytest.raises(PermanentDeliveryError) as refused:
        await engine.deliver(spam, render(spam), "acc_mta")
    assert refused.value.reply == "554 5.7.1 message refused as spam"
    assert refused.value.bounced == ()  # a policy refusal is not about the address

    partly = outgoing(f"orders@{sender}", f"a@{shop}", f"gone@{shop}")
    result = await engine.deliver(partly, render(partly), "acc_mta")
    assert [b.address for b in result.bounced] == [f"gone@{shop}"]


async def test_egress_policy_applies_to_mx_addresses(internet: Internet) -> None:
    sender = internet.sending_domain()
    shop = new_domain()
    mx = internet.mx(shop, 10)
    email = outgoing(f"orders@{sender}", f"a@{shop}")
    with pytest.raises(PermanentDeliveryError, match="loopback address"):
        await internet.engine(egress=EgressPolicy()).deliver(email, render(email), "acc_mta")
    assert mx.connections == 1  # the controller's own check: we never connected
