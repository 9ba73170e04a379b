"""MONGODB_URL and AMQP_URL built from hosts, with passwords from Secrets that a database
chart or operator made: the pods get the password apart, and the settings put it into the
URL percent-encoded, so a generated password with any character connects."""

from __future__ import annotations

from typing import Any

import pymongo.uri_parser
import pytest
import yarl

from mailpass_common.platform.settings import CommonSettings
from tests.helm.chart import (
    containers,
    deep_merge,
    render,
    render_error,
    scenario_values,
    workloads,
)

EXTERNAL: dict[str, Any] = {
    "secrets": {"mongodbUrl": "", "amqpUrl": ""},
    "externalMongodb": {
        "host": "mongodb-headless.databases.svc",
        "options": "replicaSet=rs0&authSource=mailpass",
        "existingSecret": "mongodb",
    },
    "externalRabbitmq": {
        "host": "rabbitmq.messaging.svc",
        "port": 5671,
        "tls": True,
        "existingSecret": "rabbitmq-default-user",
        "existingSecretPasswordKey": "password",
    },
}
PASSWORD = "p@ss:w/rd?#%&="  # what a generator may well produce


def env_of(component: str, values: dict[str, Any]) -> dict[str, Any]:
    (workload,) = [
        w
        for w in workloads(render(values))
        if w["metadata"]["labels"]["app.kubernetes.io/component"] == component
    ]
    (container,) = containers(workload)
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_the_pods_get_the_urls_and_the_passwords_from_their_secrets() -> None:
    values = deep_merge(scenario_values()["default"], EXTERNAL)
    env = env_of("sender", values)
    assert env["MONGODB_URL"] == (
        "mongodb://mailpass@mongodb-headless.databases.svc:27017/"
        "?replicaSet=rs0&authSource=mailpass"
    )
    assert env["MONGODB_PASSWORD"] == {
        "secretKeyRef": {"name": "mongodb", "key": "mongodb-passwords"}
    }
    assert env["AMQP_URL"] == "amqps://mailpass@rabbitmq.messaging.svc:5671/%2F"
    assert env["AMQP_PASSWORD"] == {
        "secretKeyRef": {"name": "rabbitmq-default-user", "key": "password"}
    }
    assert "AMQP_URL" not in env_of("tracker", values)  # the tracker needs no broker
    (secret,) = render(values).of_kind("Secret")
    assert set(secret["data"]) == {"SECRET_KEY"}


def test_the_settings_put_any_password_into_the_url() -> None:
    values = deep_merge(scenario_values()["default"], EXTERNAL)
    env = env_of("gateway", values)
    settings = CommonSettings(
        environment="development",
        mongodb_url=env["MONGODB_URL"],
        mongodb_password=PASSWORD,
        amqp_url=env["AMQP_URL"],
        amqp_password=PASSWORD,
    )
    parsed = pymongo.uri_parser.parse_uri(settings.mongodb_url)
    assert (parsed["username"], parsed["password"]) == ("mailpass", PASSWORD)
    assert parsed["nodelist"] == [("mongodb-headless.databases.svc", 27017)]
    assert parsed["options"]["replicaSet"] == "rs0"
    amqp = yarl.URL(settings.amqp_url)
    assert (amqp.user, amqp.password, amqp.host, amqp.port, amqp.path) == (
        "mailpass",
        PASSWORD,
        "rabbitmq.messaging.svc",
        5671,
        "//",
    )


@pytest.mark.parametrize(
    "url", ["mongodb://db:27017/", "mongodb://user:old@db:27017/", "not a url"]
)
def test_a_separate_password_needs_a_url_with_a_user_and_no_password(url: str) -> None:
    with pytest.raises(ValueError, match=r"password|user"):
        CommonSettings(environment="development", mongodb_url=url, mongodb_password="x")


def test_a_host_without_its_secret_is_refused() -> None:
    values = deep_merge(
        scenario_values()["default"],
        {"secrets": {"mongodbUrl": ""}, "externalMongodb": {"host": "mongodb"}},
    )
    assert "externalMongodb.existingSecret is required" in render_error(values)
