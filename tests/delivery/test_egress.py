"""The egress policy at connect time: providers reach only the addresses and ports it
allows, connect to the very address that was checked, and repeat no foreign banner."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from fastapi import FastAPI
from fastapi.responses import Response

from mailpass_common.platform.egress import EgressPolicy, parse_networks, parse_port_ranges
from mailpass_common.providers.delivery.base import (
    OutgoingEmail,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)
from mailpass_common.providers.delivery.mailgun import MailgunProvider
from mailpass_common.providers.delivery.sendgrid import SendGridProvider
from tests.support.delivery import deliver
from tests.support.fake_http_apis import FakeSendGrid
from tests.support.listener import listener
from tests.support.providers import mailgun_provider, sendgrid_provider, smtp_provider
from tests.support.services import free_port
from tests.support.smtp import CapturingHandler
from tests.support.stack import serve_app
from tests.support.tls import SelfSignedCert, self_signed_cert

LOOPBACK = parse_networks(["127.0.0.0/8"])


def message() -> OutgoingEmail:
    return OutgoingEmail(
        message_id="<egress.1@test.mailpass.local>",
        from_email="noreply@acme.test",
        from_name=None,
        to="user@example.com",
        subject="Hello",
        text="Hello",
    )


def policy(
    *, networks: tuple[str, ...] = (), port: int | None = None, **kwargs: Any
) -> EgressPolicy:
    ports = parse_port_ranges([str(port)]) if port else ()
    return EgressPolicy(allowed_networks=parse_networks(networks), extra_smtp_ports=ports, **kwargs)


@dataclass
class Names:
    """A resolver with answers of its own (a name can answer differently each time)."""

    answers: dict[str, list[list[str]]]
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        queue = self.answers[host]
        return queue.pop(0) if len(queue) > 1 else queue[0]


@pytest.fixture
def cert(tmp_path: Path) -> SelfSignedCert:
    return self_signed_cert(tmp_path, names=("mail.pinned.test",))


@pytest.fixture
def relay_at() -> Iterator[Any]:
    """Start real SMTP servers (aiosmtpd) on a given local address."""
    started: list[Controller] = []

    def start(host: str, port: int, **options: Any) -> CapturingHandler:
        handler = CapturingHandler()
        controller = Controller(handler, hostname=host, port=port, **options)
        controller.start()
        started.append(controller)
        return handler

    yield start
    for controller in started:
        controller.stop()


# --- which addresses ---------------------------------------------------------------------

REFUSED = [
    ("127.0.0.1", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.7", "private"),
    ("172.16.5.4", "private"),
    ("192.168.1.1", "private"),
    ("fd00:ec2::254", "private"),  # AWS's IPv6 metadata endpoint
    ("169.254.169.254", "link-local"),  # the metadata endpoint
    ("fe80::1", "link-local"),
    ("100.64.0.1", "shared (CGNAT)"),
    ("224.0.0.251", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("::", "unspecified"),
    ("240.0.0.1", "reserved"),
    ("192.0.2.1", "special-purpose"),
    ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
    ("::ffff:169.254.169.254", "link-local"),
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
]


@pytest.mark.parametrize(("address", "kind"), REFUSED)
def test_non_public_addresses_are_refused_by_default(address: str, kind: str) -> None:
    assert EgressPolicy().address_refusal(address) == f"a {kind} address"


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:1.1.1.1"])
def test_public_addresses_are_allowed(address: str) -> None:
    assert EgressPolicy().address_refusal(address) is None


def test_the_operators_networks_are_allowed_in_every_form() -> None:
    allowed = EgressPolicy(allowed_networks=LOOPBACK)
    assert allowed.address_refusal("127.0.0.1") is None
    assert allowed.address_refusal("::ffff:127.0.0.1") is None
    assert allowed.address_refusal("10.0.0.1") == "a private address"


# --- SMTP ----------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost"])
async def test_an_smtp_provider_aimed_at_loopback_fails_without_connecting(host: str) -> None:
    async with listener(b"220 internal ready\r\n") as internal:
        smtp = smtp_provider(
            {"host": host, "port": internal.port, "security": "none"},
            {},
            egress=policy(port=internal.port),
        )
        with pytest.raises(PermanentDeliveryError, match="loopback address") as refused:
            await deliver(smtp, message())
        await smtp.close()
    assert refused.value.reply.startswith(f"{host} ")
    assert internal.connections == 0


def test_smtp_ports_are_the_mail_ports_unless_the_operator_adds_more() -> None:
    for port in (25, 465, 587, 2525):
        smtp_provider({"host": "smtp.example.com", "port": port}, {})
    with pytest.raises(ValueError, match=r"port 6379 is not an SMTP port.*25, 465, 587, 2525"):
        smtp_provider({"host": "smtp.example.com", "port": 6379}, {})
    smtp_provider({"host": "smtp.example.com", "port": 6379}, {}, egress=policy(port=6379))


async def test_smtp_connects_to_the_checked_address_and_tls_verifies_the_host_name(
    cert: SelfSignedCert, relay_at: Any
) -> None:
    port = free_port()
    relay = relay_at("127.0.0.1", port, tls_context=cert.server_context(), require_starttls=True)
    # The system resolver knows neither name: only a connection to the address the policy
    # resolved and checked can reach the relay.
    names = Names({"mail.pinned.test": [["127.0.0.1"]], "other.pinned.test": [["127.0.0.1"]]})
    rules = policy(networks=("127.0.0.0/8",), port=port, resolver=names)
    config = {"port": port, "security": "starttls", "ca_cert": cert.cert_pem}

    pinned = smtp_provider({"host": "mail.pinned.test", **config}, {}, egress=rules)
    await deliver(pinned, message())
    await pinned.close()
    assert len(relay.received) == 1

    # Same address, a name the certificate does not carry (it does carry 127.0.0.1):
    # verification is of the name, not of the address we connected to.
    other = smtp_provider({"host": "other.pinned.test", **config}, {}, egress=rules)
    with pytest.raises(TemporaryDeliveryError, match="certificate"):
        await deliver(other, message())
    await other.close()
    assert len(relay.received) == 1


async def test_a_name_rebound_to_a_refused_address_is_refused_at_the_next_connection(
    relay_at: Any,
) -> None:
    port = free_port()
    relay = relay_at("127.0.0.2", port)
    names = Names({"mx.rebind.test": [["127.0.0.2"], ["127.0.0.1"]]})
    rules = policy(networks=("127.0.0.2/32",), port=port, resolver=names)
    async with listener(b"220 internal\r\n", port=port) as internal:
        smtp = smtp_provider(
            {"host": "mx.rebind.test", "port": port, "security": "none"}, {}, egress=rules
        )
        await deliver(smtp, message())
        await smtp.close()  # the next send opens a new connection, resolving again
        with pytest.raises(
            PermanentDeliveryError, match=r"mx\.rebind\.test resolves to a loopback"
        ):
            await deliver(smtp, message())
        await smtp.close()
    assert len(relay.received) == 1
    assert internal.connections == 0
    assert names.asked == ["mx.rebind.test", "mx.rebind.test"]


@pytest.mark.parametrize(
    "banner",
    [
        b"SSH-2.0-OpenSSH_9.2p1 build-host-7\r\n",
        b"-ERR redis NOAUTH secret-db\r\n",
        b"+OK pop3\r\n",
    ],
)
async def test_a_service_that_is_not_smtp_is_not_quoted(banner: bytes) -> None:
    async with listener(banner) as other:
        smtp = smtp_provider(
            {"host": "127.0.0.1", "port": other.port, "security": "none"},
            {},
            egress=policy(networks=("127.0.0.0/8",), port=other.port),
        )
        with pytest.raises(TemporaryDeliveryError) as failed:
            await smtp.check()
        await smtp.close()
    assert failed.value.reply == "the server did not answer in SMTP"
    assert other.connections == 1


async def test_an_smtp_reply_is_quoted_on_one_line_and_truncated() -> None:
    reply = b"554 5.7.1 " + b"x" * 2000 + b"\r\n"
    async with listener(reply) as relay:
        smtp = smtp_provider(
            {"host": "127.0.0.1", "port": relay.port, "security": "none"},
            {},
            egress=policy(networks=("127.0.0.0/8",), port=relay.port),
        )
        with pytest.raises(PermanentDeliveryError) as refused:
            await smtp.check()
        await smtp.close()
    assert refused.value.reply.startswith("554 5.7.1 xxx")
    assert len(refused.value.reply) <= 300


# --- HTTP APIs -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8080",
        "https://api.sendgrid.com.attacker.test",
        "http://api.sendgrid.com",  # the official host, but not over TLS
        "https://api.sendgrid.com:8443",
        "https://api.mailgun.net",  # another API's host
    ],
)
def test_api_base_urls_are_the_official_hosts_only(base_url: str) -> None:
    with pytest.raises(
        ValueError, match=re.escape("https://api.sendgrid.com or https://api.eu.sendgrid.com")
    ):
        sendgrid_provider({"base_url": base_url}, {"api_key": "SG.k"}, egress=EgressPolicy())


def test_the_official_us_and_eu_hosts_are_accepted() -> None:
    for base_url in ("https://api.sendgrid.com", "https://api.eu.sendgrid.com/", None):
        sendgrid_provider({"base_url": base_url}, {"api_key": "SG.k"}, egress=EgressPolicy())


@pytest.fixture
def sendgrid_api() -> Iterator[FakeSendGrid]:
    api = FakeSendGrid(api_key="SG.local").start()
    yield api
    api.stop()


async def test_an_allowed_api_host_still_needs_an_allowed_address(
    sendgrid_api: FakeSendGrid,
) -> None:
    rules = policy(extra_api_hosts=frozenset({"127.0.0.1"}))
    provider = sendgrid_provider(
        {"base_url": sendgrid_api.base_url}, {"api_key": "SG.local"}, egress=rules
    )
    with pytest.raises(PermanentDeliveryError, match=r"127\.0\.0\.1 is a loopback address"):
        await deliver(provider, message())
    await provider.close()
    assert sendgrid_api.received == []


async def test_http_connects_to_the_address_the_policy_resolved(
    sendgrid_api: FakeSendGrid,
) -> None:
    """Fails if httpx resolves names itself (the egress transport's pool not in use): the
    system resolver does not know this name."""
    names = Names({"sendgrid.pinned.test": [["127.0.0.1"]], "evil.pinned.test": [["10.1.2.3"]]})
    rules = policy(
        networks=("127.0.0.0/8",),
        extra_api_hosts=frozenset({"sendgrid.pinned.test", "evil.pinned.test"}),
        resolver=names,
    )
    port = sendgrid_api.base_url.rsplit(":", 1)[1]
    pinned = sendgrid_provider(
        {"base_url": f"http://sendgrid.pinned.test:{port}"}, {"api_key": "SG.local"}, egress=rules
    )
    await deliver(pinned, message())
    await pinned.close()
    assert len(sendgrid_api.received) == 1

    private = sendgrid_provider(
        {"base_url": f"http://evil.pinned.test:{port}"}, {"api_key": "SG.local"}, egress=rules
    )
    with pytest.raises(PermanentDeliveryError, match=r"evil\.pinned\.test resolves to a private"):
        await deliver(private, message())
    await private.close()
    assert names.asked == ["sendgrid.pinned.test", "evil.pinned.test"]


def http_api(api: str, base_url: str, rules: EgressPolicy) -> SendGridProvider | MailgunProvider:
    if api == "sendgrid":
        return sendgrid_provider({"base_url": base_url}, {"api_key": "k"}, egress=rules)
    config = {"base_url": base_url, "domain": "mg.example.com"}
    return mailgun_provider(config, {"api_key": "k"}, egress=rules)


@pytest.mark.parametrize("api", ["sendgrid", "mailgun"])
async def test_an_http_body_is_never_quoted(api: str) -> None:
    """What answers at an allowed address may be anything: only the API's documented
    error message is quoted, and an HTML page is not one."""
    app = FastAPI()

    @app.api_route("/{path:path}", methods=["GET", "POST"])
    async def anything(path: str) -> Response:
        page = "<html>admin console: token=s3cr3t</html>"
        return Response(page, status_code=401, media_type="text/html")

    rules = policy(networks=("127.0.0.0/8",), extra_api_hosts=frozenset({"127.0.0.1"}))
    async with serve_app(app) as base_url:
        provider = http_api(api, base_url, rules)
        with pytest.raises(PermanentDeliveryError) as refused:
            await provider.check()
        await provider.close()
    assert refused.value.reply == f"{provider.api_name} HTTP 401: Unauthorized"
