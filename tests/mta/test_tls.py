"""STARTTLS whenever offered (RFC 7435), and MTA-STS enforced (RFC 8461)."""

from __future__ import annotations

import pytest

from mailpass_common.providers.delivery.base import TemporaryDeliveryError
from mailpass_common.providers.delivery.mime import render
from tests.mta.conftest import Internet
from tests.mta.support import PolicyServer, free_port_everywhere, new_domain, outgoing, trust


async def test_starttls_whenever_offered_without_checking_the_certificate(
    internet: Internet,
) -> None:
    sender = internet.sending_domain()
    shop = new_domain()
    mx = internet.mx(shop, 10, tls=internet.cert("someone-else.example"))
    email = outgoing(f"orders@{sender}", f"a@{shop}")
    await internet.engine().deliver(email, render(email), "acc_mta")
    assert mx.handler.seen == [("mta.mailpass.test", True)]


async def _policy(internet: Internet, domain: str, mx_line: str, port: int) -> PolicyServer:
    address = internet.address()
    internet.dns.add(f"_mta-sts.{domain}", "TXT", "v=STSv1; id=20261206")
    internet.dns.add(f"mta-sts.{domain}", "A", address)
    policy = f"version: STSv1\nmode: enforce\nmx: {mx_line}\nmax_age: 86400\n"
    cert = internet.cert(f"mta-sts.{domain}", f"mx20.{domain}")
    server = await PolicyServer(address, port, cert, policy).start()
    internet.servers.append(server)
    return server


async def test_mta_sts_enforce_uses_matching_mx_with_verified_tls(internet: Internet) -> None:
    sender = internet.sending_domain()
    shop = new_domain()
    port = free_port_everywhere(internet.addresses[6:])
    policy = await _policy(internet, shop, f"*.{shop}", port)
    outside = new_domain()  # an MX outside the policy's patterns, and preferred
    internet.dns.add(f"mx5.{outside}", "A", internet.address())
    internet.dns.add(shop, "MX", f"5 mx5.{outside}.")
    listed = internet.mx(shop, 20, tls=policy.cert)
    engine = internet.engine(tls=trust(policy.cert), sts_https_port=port)

    for n in range(2):
        email = outgoing(f"orders@{sender}", f"a@{shop}", n=n)
        await engine.deliver(email, render(email), "acc_mta")
    assert listed.handler.seen == [("mta.mailpass.test", True)] * 2
    assert policy.fetches == 1  # cached for its max_age while the record's id stays


async def test_mta_sts_enforce_defers_when_tls_cannot_be_verified(internet: Internet) -> None:
    sender = internet.sending_domain()
    shop = new_domain()
    port = free_port_everywhere(internet.addresses[6:])
    policy = await _policy(internet, shop, f"mx20.{shop}", port)
    internet.mx(shop, 20, tls=internet.cert("not-the-mx.example"))  # a name that is not its own
    engine = internet.engine(tls=trust(policy.cert), sts_https_port=port)
    email = outgoing(f"orders@{sender}", f"a@{shop}")
    with pytest.raises(TemporaryDeliveryError, match="MTA-STS policy requires"):
        await engine.deliver(email, render(email), "acc_mta")

    plain = new_domain()
    policy = await _policy(internet, plain, f"mx20.{plain}", port)
    internet.mx(plain, 20)  # offers no STARTTLS at all
    engine = internet.engine(tls=trust(policy.cert), sts_https_port=port)
    email = outgoing(f"orders@{sender}", f"a@{plain}", n=2)
    with pytest.raises(TemporaryDeliveryError, match="does not offer STARTTLS"):
        await engine.deliver(email, render(email), "acc_mta")
