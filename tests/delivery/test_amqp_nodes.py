"""``AMQP_URL`` naming several nodes: one URL per node, the rest shared; bad lists refused
when the settings load, with a sentence and never the URL (it holds a password)."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mailpass_common.platform.amqp_nodes import node_urls
from mailpass_common.platform.settings import CommonSettings


def test_one_node_is_the_url_itself() -> None:
    assert node_urls("amqp://guest:guest@127.0.0.1:5672/") == ["amqp://guest:guest@127.0.0.1:5672/"]


def test_nodes_share_credentials_vhost_and_query_and_take_the_scheme_port() -> None:
    assert node_urls("amqp://u:p%2C@rabbit-0:5673,rabbit-1, rabbit-2:5674/mail?heartbeat=30") == [
        "amqp://u:p%2C@rabbit-0:5673/mail?heartbeat=30",
        "amqp://u:p%2C@rabbit-1:5672/mail?heartbeat=30",
        "amqp://u:p%2C@rabbit-2:5674/mail?heartbeat=30",
    ]
    assert node_urls("amqps://u@[fd00::1],[fd00::2]:6000") == [
        "amqps://u@[fd00::1]:5671/",
        "amqps://u@[fd00::2]:6000/",
    ]
    assert node_urls("amqp://h1,h2?heartbeat=5") == [
        "amqp://h1:5672/?heartbeat=5",
        "amqp://h2:5672/?heartbeat=5",
    ]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("amqp://u:p@h1,,h2/", "empty node"),
        ("amqp://u:p@/", "empty node"),
        ("amqp://u:p@h1:5672,h2:99999/", "port must be a number"),
        ("amqp://u:p@h1:x/", "port must be a number"),
        ("amqp://u:p@[::1]5672/", "expected [address]:port"),
        ("http://h1/", "must start with amqp"),
    ],
)
def test_malformed_lists_are_refused(url: str, says: str) -> None:
    with pytest.raises(ValueError, match=says.replace("[", r"\[")):
        node_urls(url)


def test_settings_refuse_a_malformed_list_after_putting_the_password_in() -> None:
    settings = CommonSettings(amqp_url="amqp://mailpass@h1,h2:5673/v", amqp_password="p,/w")
    assert settings.amqp_url == "amqp://mailpass:p%2C%2Fw@h1,h2:5673/v"
    assert node_urls(settings.amqp_url)[1] == "amqp://mailpass:p%2C%2Fw@h2:5673/v"
    with pytest.raises(ValidationError, match="empty node"):
        CommonSettings(amqp_url="amqp://mailpass:secret@h1,/")
