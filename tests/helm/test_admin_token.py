"""The admin API's token reaches the gateway only, from the chart's Secret or an existing
one, and is optional: without it the gateway runs with the admin API off."""

from __future__ import annotations

import base64

from tests.helm.chart import deep_merge, render, render_error, scenario_values
from tests.helm.test_external_passwords import env_of

TOKEN = "admin-token-from-a-generator-0123456789"


def test_without_a_token_the_reference_is_optional_and_the_secret_has_none() -> None:
    values = scenario_values()["default"]
    assert env_of("gateway", values)["ADMIN_API_TOKEN"] == {
        "secretKeyRef": {"name": "mailpass", "key": "ADMIN_API_TOKEN", "optional": True}
    }
    assert "ADMIN_API_TOKEN" not in env_of("sender", values)
    (secret,) = render(values).of_kind("Secret")
    assert "ADMIN_API_TOKEN" not in secret["data"]


def test_a_token_goes_into_the_charts_secret() -> None:
    values = deep_merge(scenario_values()["default"], {"secrets": {"adminApiToken": TOKEN}})
    (secret,) = render(values).of_kind("Secret")
    assert base64.b64decode(secret["data"]["ADMIN_API_TOKEN"]).decode() == TOKEN


def test_an_existing_secrets_key_is_used() -> None:
    values = deep_merge(
        scenario_values()["default"],
        {
            "secrets": {
                "existingSecret": "platform",
                "existingSecretKeys": {"adminApiToken": "admin-token"},
            }
        },
    )
    env = env_of("gateway", values)
    assert env["ADMIN_API_TOKEN"] == {
        "secretKeyRef": {"name": "platform", "key": "admin-token", "optional": True}
    }


def test_a_short_token_is_refused() -> None:
    values = deep_merge(scenario_values()["default"], {"secrets": {"adminApiToken": "short"}})
    assert "adminApiToken" in render_error(values)
