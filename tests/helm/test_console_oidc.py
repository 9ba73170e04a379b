"""The console's OpenID Connect sign-in from values: the settings reach the gateway only,
the client secret only through a Secret, and the gateway may reach the issuer's port."""

from __future__ import annotations

import base64
from typing import Any

from tests.helm.chart import deep_merge, render, render_error, scenario_values
from tests.helm.test_external_passwords import env_of

OIDC = {
    "gateway": {
        "console": {
            "publicUrl": "https://mail.example.com",
            "mailAccount": "acc_platform",
            "oidc": {
                "issuer": "https://sso.example.com:8443/realms/mail",
                "clientId": "mailpass-console",
                "groupRoles": ["mail-admins=acme:admin", "mail-devs=acme:developer"],
            },
        }
    },
    "secrets": {"consoleOidcClientSecret": "client-secret-from-the-provider"},
}


def with_oidc() -> dict[str, Any]:
    return deep_merge(scenario_values()["default"], OIDC)


def test_the_settings_reach_the_gateway_and_no_other_component() -> None:
    env = env_of("gateway", with_oidc())
    assert env["CONSOLE_OIDC_ISSUER"] == "https://sso.example.com:8443/realms/mail"
    assert env["CONSOLE_OIDC_CLIENT_ID"] == "mailpass-console"
    assert env["CONSOLE_OIDC_GROUP_ROLES"] == "mail-admins=acme:admin,mail-devs=acme:developer"
    assert env["CONSOLE_OIDC_SCOPES"] == "openid email profile"
    assert env["CONSOLE_PUBLIC_URL"] == "https://mail.example.com"
    assert env["CONSOLE_MAIL_ACCOUNT"] == "acc_platform"
    assert env["CONSOLE_OIDC_CLIENT_SECRET"] == {
        "secretKeyRef": {"name": "mailpass", "key": "CONSOLE_OIDC_CLIENT_SECRET", "optional": True}
    }
    for component in ("sender", "tracker", "webhooks"):
        assert not any(name.startswith("CONSOLE_") for name in env_of(component, with_oidc()))
    (secret,) = render(with_oidc()).of_kind("Secret")
    decoded = base64.b64decode(secret["data"]["CONSOLE_OIDC_CLIENT_SECRET"]).decode()
    assert decoded == "client-secret-from-the-provider"


def test_without_an_issuer_nothing_is_set_and_the_gateway_reaches_no_issuer() -> None:
    values = scenario_values()["default"]
    env = env_of("gateway", values)
    assert "CONSOLE_OIDC_ISSUER" not in env
    (secret,) = render(values).of_kind("Secret")
    assert "CONSOLE_OIDC_CLIENT_SECRET" not in secret["data"]
    policies = render(values).of_kind("NetworkPolicy")
    gateway = next(p for p in policies if p["metadata"]["name"].endswith("gateway"))
    ports = [port["port"] for rule in gateway["spec"]["egress"] for port in rule.get("ports", [])]
    assert 8443 not in ports and 443 not in ports


def test_the_gateway_may_reach_the_issuers_port() -> None:
    policies = render(with_oidc()).of_kind("NetworkPolicy")
    gateway = next(p for p in policies if p["metadata"]["name"].endswith("gateway"))
    ports = [port["port"] for rule in gateway["spec"]["egress"] for port in rule.get("ports", [])]
    assert 8443 in ports


def test_an_issuer_without_client_id_or_over_http_is_refused() -> None:
    no_client = deep_merge(with_oidc(), {"gateway": {"console": {"oidc": {"clientId": ""}}}})
    assert "clientId" in render_error(no_client)
    plain = deep_merge(
        with_oidc(), {"gateway": {"console": {"oidc": {"issuer": "http://sso.example.com"}}}}
    )
    assert "issuer" in render_error(plain)
    bad_role = deep_merge(
        with_oidc(), {"gateway": {"console": {"oidc": {"groupRoles": ["ops=acme:root"]}}}}
    )
    assert "groupRoles" in render_error(bad_role)
