"""The provider administration API against the real gateway and database."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants.api_keys import Permission
from tests.admin.support import FROM, smtp_body
from tests.support.tenants import cipher, make_admin

PASSWORD = "pa55-word-never-shown"


async def test_create_read_and_list_never_show_secrets(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_admin(db, "acme")
    body = smtp_body(
        2525,
        config={"username": "mailer", "password": PASSWORD},
        is_default=True,
        hourly_limit=100,
        daily_limit=1000,
        from_email="support@YourDomain.com",
        from_name="Your App",
        fallback_priority=None,
    )
    created = await api.post("/api/v1/providers", json=body, headers=acme.headers)
    assert created.status_code == 201, created.text
    assert created.json()["success"] is True
    data = created.json()["data"]
    assert data["name"] == "relay" and data["type"] == "smtp" and data["is_default"] is True
    assert data["config"] == {
        "host": "127.0.0.1",
        "port": 2525,
        "security": "none",
        "username": "mailer",
        "verify_tls": True,
        "has_password": True,
    }
    assert (data["hourly_limit"], data["daily_limit"], data["fallback_priority"]) == (
        100,
        1000,
        None,
    )
    assert data["from_email"] == "support@yourdomain.com"  # normalised by email-validator
    assert data["version"] == 1 and data["id"].startswith("prv_")

    one = await api.get(f"/api/v1/providers/{data['id']}", headers=acme.headers)
    listed = await api.get("/api/v1/providers", headers=acme.headers)
    assert one.status_code == 200 and one.json()["data"] == data
    assert listed.status_code == 200 and listed.json()["data"]["providers"] == [data]
    for response in (created, one, listed):
        assert PASSWORD not in response.text

    stored = await db[Collections.PROVIDERS].find_one({"_id": data["id"]})
    assert stored is not None and PASSWORD not in str(stored)
    assert cipher(service_env).decrypt(stored["secret"]) == {"password": PASSWORD}


async def test_every_type_is_accepted_with_its_own_fields(
    api: httpx.AsyncClient, db: Database
) -> None:
    acme = await make_admin(db, "acme")
    bodies = [
        {
            "name": "ses",
            "type": "ses",
            "from_email": FROM,
            "config": {
                "region": "eu-west-1",
                "access_key_id": "AKIATEST",
                "secret_access_key": "aws-secret",
            },
        },
        {
            "name": "grid",
            "type": "sendgrid",
            "config": {"api_key": "SG.secret"},
            "from_email": FROM,
        },
        {
            "name": "gun",
            "type": "mailgun",
            "from_email": FROM,
            "config": {
                "domain": "mg.example.com",
                "api_key": "key-secret",
                "base_url": "https://api.eu.mailgun.net",
            },
            "fallback_priority": 1,
        },
    ]
    views = []
    for body in bodies:
        response = await api.post("/api/v1/providers", json=body, headers=acme.headers)
        assert response.status_code == 201, response.text
        for secret in ("AKIATEST", "aws-secret", "SG.secret", "key-secret"):
            assert secret not in response.text
        views.append(response.json()["data"])
    assert views[0]["config"] == {
        "region": "eu-west-1",
        "has_access_key_id": True,
        "has_secret_access_key": True,
        "has_session_token": False,
    }
    assert views[1]["config"] == {"has_api_key": True}
    assert views[2]["config"] == {
        "domain": "mg.example.com",
        "base_url": "https://api.eu.mailgun.net",
        "has_api_key": True,
    }
    assert views[2]["fallback_priority"] == 1
    assert not any(v["is_default"] for v in views)


INVALID: list[tuple[dict[str, Any], str]] = [
    ({"name": "x", "from_email": FROM, "type": "smtp", "config": {"port": 25}}, "config.host"),
    (
        {
            "name": "x",
            "from_email": FROM,
            "type": "smtp",
            "config": {"host": "h", "security": "ssl"},
        },
        "config.security",
    ),
    (
        {"name": "x", "from_email": FROM, "type": "smtp", "config": {"host": "h", "port": 70000}},
        "config.port",
    ),
    ({"name": "x", "from_email": FROM, "type": "smtp", "config": {"host": "a b"}}, "config.host"),
    ({"name": "x", "from_email": FROM, "type": "sendgrid", "config": {}}, "config.api_key"),
    (
        {"name": "x", "from_email": FROM, "type": "mailgun", "config": {"api_key": "k"}},
        "config.domain",
    ),
    (
        {
            "name": "x",
            "from_email": FROM,
            "type": "mailgun",
            "config": {"domain": "d.com", "api_key": "k", "x": 1},
        },
        "config.x",
    ),
    (
        {"name": "x", "from_email": FROM, "type": "ses", "config": {"region": "Mars"}},
        "config.region",
    ),
    ({"name": "x", "from_email": FROM, "type": "pigeon", "config": {}}, "type"),
    ({**smtp_body(25), "hourly_limit": 0}, "hourly_limit"),
    ({**smtp_body(25), "daily_limit": -5}, "daily_limit"),
    ({**smtp_body(25), "from_email": "not-an-address"}, "from_email"),
    ({**smtp_body(25), "from_email": "a@example.com\r\nBcc: victim@example.com"}, "from_email"),
    ({**smtp_body(25), "from_name": "Evil\r\nBcc: victim@example.com"}, "from_name"),
    ({**smtp_body(25), "fallback_priority": -1}, "fallback_priority"),
    ({**smtp_body(25), "name": "has space"}, "name"),
    ({**smtp_body(25), "unknown": True}, "unknown"),
    # Requests without from_email use the provider's: every provider must have one.
    ({key: v for key, v in smtp_body(25).items() if key != "from_email"}, "from_email"),
]


async def test_invalid_providers_are_refused_naming_the_field(
    api: httpx.AsyncClient, db: Database
) -> None:
    acme = await make_admin(db, "acme")
    for body, field in INVALID:
        response = await api.post("/api/v1/providers", json=body, headers=acme.headers)
        assert response.status_code == 400, (body, response.text)
        error = response.json()["error"]
        assert error["code"] == "VALIDATION_ERROR", body
        assert field in [d["field"] for d in error["details"]], (body, error)
    assert await db[Collections.PROVIDERS].count_documents({}) == 0


async def test_names_are_unique_per_account(api: httpx.AsyncClient, db: Database) -> None:
    acme, other = await make_admin(db, "acme"), await make_admin(db, "other")
    first = await api.post("/api/v1/providers", json=smtp_body(25, "main"), headers=acme.headers)
    assert first.status_code == 201
    again = await api.post("/api/v1/providers", json=smtp_body(26, "main"), headers=acme.headers)
    assert again.status_code == 400
    assert again.json()["error"]["details"][0]["field"] == "name"
    # Another account may use the same name.
    theirs = await api.post("/api/v1/providers", json=smtp_body(25, "main"), headers=other.headers)
    assert theirs.status_code == 201

    second = await api.post("/api/v1/providers", json=smtp_body(27, "spare"), headers=acme.headers)
    renamed = await api.patch(
        f"/api/v1/providers/{second.json()['data']['id']}",
        json={"name": "main"},
        headers=acme.headers,
    )
    assert renamed.status_code == 400 and renamed.json()["error"]["code"] == "VALIDATION_ERROR"


async def test_update_replaces_secrets_and_bumps_the_version(
    api: httpx.AsyncClient, db: Database, service_env: dict[str, Any]
) -> None:
    acme = await make_admin(db, "acme")
    body = smtp_body(25, config={"username": "u", "password": "old"}, from_name="Old")
    created = (await api.post("/api/v1/providers", json=body, headers=acme.headers)).json()["data"]
    url = f"/api/v1/providers/{created['id']}"

    limits = await api.patch(
        url, json={"hourly_limit": 10, "from_name": None}, headers=acme.headers
    )
    assert limits.status_code == 200, limits.text
    assert limits.json()["data"]["version"] == 2
    assert limits.json()["data"]["hourly_limit"] == 10
    assert limits.json()["data"]["from_name"] is None

    secret = await api.patch(url, json={"config": {"password": "new-one"}}, headers=acme.headers)
    assert secret.status_code == 200, secret.text
    view = secret.json()["data"]
    assert view["version"] == 3 and "new-one" not in secret.text
    assert view["config"]["host"] == "127.0.0.1" and view["config"]["has_password"] is True
    stored = await db[Collections.PROVIDERS].find_one({"_id": created["id"]})
    assert stored is not None
    assert cipher(service_env).decrypt(stored["secret"]) == {"password": "new-one"}
    assert stored["version"] == 3 and stored["updated_at"] >= stored["created_at"]

    cleared = await api.patch(
        url, json={"config": {"username": None, "password": None}}, headers=acme.headers
    )
    assert cleared.json()["data"]["config"]["has_password"] is False
    assert "username" not in cleared.json()["data"]["config"]

    for bad, field in [
        ({"type": "sendgrid"}, "type"),
        ({"config": {"security": "ssl"}}, "config.security"),
        ({"config": {"password": "p"}}, "config"),  # a password needs a username
        ({"name": None}, "name"),
        ({"is_default": False}, "is_default"),
        ({"daily_limit": 0}, "daily_limit"),
    ]:
        response = await api.patch(url, json=bad, headers=acme.headers)
        assert response.status_code == 400, (bad, response.text)
        assert field in [d["field"] for d in response.json()["error"]["details"]], bad
    final = await api.get(url, headers=acme.headers)
    assert final.json()["data"]["version"] == 4  # refused updates changed nothing

    missing = await api.patch(
        "/api/v1/providers/prv_0000", json={"hourly_limit": 1}, headers=acme.headers
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


async def test_the_account_has_exactly_one_default(api: httpx.AsyncClient, db: Database) -> None:
    acme = await make_admin(db, "acme")
    ids = []
    for i in range(4):
        body = smtp_body(25 + i, f"p{i}", is_default=i == 0)
        ids.append(
            (await api.post("/api/v1/providers", json=body, headers=acme.headers)).json()["data"][
                "id"
            ]
        )

    switched = await api.post(f"/api/v1/providers/{ids[2]}/default", headers=acme.headers)
    assert switched.status_code == 200 and switched.json()["data"]["is_default"] is True
    listed = (await api.get("/api/v1/providers", headers=acme.headers)).json()["data"]["providers"]
    assert [p["id"] for p in listed if p["is_default"]] == [ids[2]]

    by_patch = await api.patch(
        f"/api/v1/providers/{ids[1]}", json={"is_default": True}, headers=acme.headers
    )
    assert by_patch.status_code == 200 and by_patch.json()["data"]["is_default"] is True

    # Many concurrent switches to different providers still leave exactly one default.
    responses = await asyncio.gather(
        *(
            api.post(f"/api/v1/providers/{ids[i % 4]}/default", headers=acme.headers)
            for i in range(24)
        )
    )
    assert all(r.status_code == 200 for r in responses)
    defaults = (
        await db[Collections.PROVIDERS]
        .find({"account_id": acme.account_id, "is_default": True})
        .to_list()
    )
    assert len(defaults) == 1


async def test_deleting_the_default_leaves_none_and_sends_get_no_smtp_provider(
    api: httpx.AsyncClient, db: Database
) -> None:
    acme = await make_admin(db, "acme")
    created = await api.post(
        "/api/v1/providers", json=smtp_body(25, is_default=True), headers=acme.headers
    )
    provider_id = created.json()["data"]["id"]

    deleted = await api.delete(f"/api/v1/providers/{provider_id}", headers=acme.headers)
    assert deleted.status_code == 204 and deleted.content == b""
    gone = await api.get(f"/api/v1/providers/{provider_id}", headers=acme.headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "NOT_FOUND"
    again = await api.delete(f"/api/v1/providers/{provider_id}", headers=acme.headers)
    assert again.status_code == 404

    send = await api.post(
        "/api/v1/mail/send",
        json={"to": "user@example.com", "subject": "Hello", "html": "<p>Hi</p>"},
        headers=acme.headers,
    )
    assert send.status_code == 422, send.text
    assert send.json()["error"]["code"] == "NO_SMTP_PROVIDER"


async def test_the_providers_permission_is_required(api: httpx.AsyncClient, db: Database) -> None:
    mailer = await make_admin(db, "acme", (Permission.MAIL, Permission.KEYS))
    for method, path in [
        ("GET", "/api/v1/providers"),
        ("POST", "/api/v1/providers"),
        ("GET", "/api/v1/providers/prv_x"),
        ("PATCH", "/api/v1/providers/prv_x"),
        ("DELETE", "/api/v1/providers/prv_x"),
        ("POST", "/api/v1/providers/prv_x/default"),
        ("POST", "/api/v1/providers/prv_x/test"),
    ]:
        denied = await api.request(method, path, json=smtp_body(25), headers=mailer.headers)
        assert denied.status_code == 403, (method, path, denied.text)
        assert denied.json()["error"]["code"] == "FORBIDDEN"
        anonymous = await api.request(method, path, json=smtp_body(25))
        assert anonymous.status_code == 401
        assert anonymous.json()["error"]["code"] == "UNAUTHORIZED"
