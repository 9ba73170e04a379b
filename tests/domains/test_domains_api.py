"""The sending domains API on the real gateway, nx-27017 and the tests' DNS server."""

from __future__ import annotations

import httpx

from mailpass_common.platform.db import Collections, Database
from mailpass_common.tenants.api_keys import Permission
from tests.domains.support import RETURN_PATH_DOMAIN, publish, unique_domain
from tests.support.dns import TestDns
from tests.support.tenants import make_admin

RECORD_FIELDS = {
    "purpose",
    "type",
    "name",
    "value",
    "status",
    "found",
    "required",
    "owner",
    "advice",
}


async def test_add_publish_verify_rotate_and_remove(
    api: httpx.AsyncClient, db: Database, dns: TestDns
) -> None:
    acme = await make_admin(db, "acme", (Permission.PROVIDERS,))
    name = unique_domain()
    created = await api.post("/api/v1/domains", json={"domain": name.upper()}, headers=acme.headers)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["success"] is True
    data = body["data"]
    assert data["domain"] == name and data["status"] == "pending"
    assert data["id"].startswith("dom_")
    assert [r["purpose"] for r in data["records"]] == [
        "dkim",
        "dkim",
        "spf",
        "dmarc",
        "return_path",
    ]
    assert all(set(r) == RECORD_FIELDS for r in data["records"])
    assert {r["status"] for r in data["records"]} == {"missing"}
    assert data["records"][2]["value"] == f"v=spf1 include:{RETURN_PATH_DOMAIN} ~all"
    domain_id = data["id"]

    verified = await api.post(f"/api/v1/domains/{domain_id}/verify", headers=acme.headers)
    assert verified.status_code == 200 and verified.json()["data"]["status"] == "pending"

    publish(dns, data["records"], "dkim", "spf", "dmarc")
    dns.add(RETURN_PATH_DOMAIN, "MX", "10 inbound.mailpass.test.")
    verified = await api.post(f"/api/v1/domains/{domain_id}/verify", headers=acme.headers)
    result = verified.json()["data"]
    assert result["status"] == "verified" and result["verified_at"] and result["checked_at"]
    assert {r["status"] for r in result["records"]} == {"verified"}
    assert result["records"][0]["found"] == data["records"][0]["value"]

    listed = await api.get("/api/v1/domains", headers=acme.headers)
    assert [d["id"] for d in listed.json()["data"]["domains"]] == [domain_id]
    one = await api.get(f"/api/v1/domains/{domain_id}", headers=acme.headers)
    assert one.json()["data"]["status"] == "verified"  # as stored: no look-up on GET

    rotated = await api.post(f"/api/v1/domains/{domain_id}/rotate-dkim", headers=acme.headers)
    after = rotated.json()["data"]
    assert rotated.status_code == 200 and after["status"] == "verified"
    dkim_rows = [r for r in after["records"] if r["purpose"] == "dkim"]
    assert [r["status"] for r in dkim_rows] == ["verified", "verified", "missing", "missing"]
    assert [r["required"] for r in dkim_rows] == [False, False, True, False]

    removed = await api.delete(f"/api/v1/domains/{domain_id}", headers=acme.headers)
    assert removed.status_code == 204
    gone = await api.get(f"/api/v1/domains/{domain_id}", headers=acme.headers)
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "NOT_FOUND"
    assert await db[Collections.DKIM_KEYS].count_documents({}) == 0


async def test_bad_names_duplicates_and_idn_get_stable_codes(
    api: httpx.AsyncClient, db: Database
) -> None:
    acme = await make_admin(db, "acme", (Permission.PROVIDERS,))
    for bad in [
        "",
        "localhost",
        "192.0.2.7",
        "user@example.com",
        "https://x.example",
        "-x.example",
        "x" * 400,
        "a..b",
    ]:
        refused = await api.post("/api/v1/domains", json={"domain": bad}, headers=acme.headers)
        assert refused.status_code == 400, (bad, refused.text)
        error = refused.json()["error"]
        assert error["code"] == "VALIDATION_ERROR" and error["details"][0]["field"] == "domain"
    for body in [{}, {"domain": 7}, {"domain": "x.example", "extra": 1}, ["x.example"]]:
        refused = await api.post("/api/v1/domains", json=body, headers=acme.headers)
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "VALIDATION_ERROR"
    refused = await api.post(
        "/api/v1/domains",
        content=b"{not json",
        headers={**acme.headers, "Content-Type": "application/json"},
    )
    assert refused.status_code == 400

    label = unique_domain("bücher")
    created = await api.post("/api/v1/domains", json={"domain": label}, headers=acme.headers)
    assert created.status_code == 201
    data = created.json()["data"]
    assert data["domain"].startswith("xn--bcher-") and data["unicode_domain"] == label
    assert data["records"][0]["name"].endswith("._domainkey." + data["domain"])
    # The same name in either form is the same domain.
    for again in (label, data["domain"], label.upper() + "."):
        duplicate = await api.post("/api/v1/domains", json={"domain": again}, headers=acme.headers)
        assert duplicate.status_code == 409, again
        assert duplicate.json()["error"] == {
            "code": "DOMAIN_EXISTS",
            "message": f"{data['domain']} is already a sending domain of this account",
            "details": {"domain": data["domain"], "id": data["id"]},
        }
    for path in ("/api/v1/domains/nope", "/api/v1/domains/" + "x" * 300):
        missing = await api.get(path, headers=acme.headers)
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"


async def test_another_accounts_domain_is_out_of_reach(
    api: httpx.AsyncClient, db: Database, dns: TestDns
) -> None:
    acme = await make_admin(db, "acme", (Permission.PROVIDERS,))
    intruder = await make_admin(db, "intruder", (Permission.PROVIDERS,))
    name = unique_domain()
    created = await api.post("/api/v1/domains", json={"domain": name}, headers=acme.headers)
    data = created.json()["data"]
    domain_id = data["id"]
    for method, path in [
        ("GET", f"/api/v1/domains/{domain_id}"),
        ("POST", f"/api/v1/domains/{domain_id}/verify"),
        ("POST", f"/api/v1/domains/{domain_id}/rotate-dkim"),
        ("DELETE", f"/api/v1/domains/{domain_id}"),
    ]:
        response = await api.request(method, path, headers=intruder.headers)
        assert response.status_code == 404, (method, path, response.text)
        assert response.json()["error"]["code"] == "NOT_FOUND"
    intruders = await api.get("/api/v1/domains", headers=intruder.headers)
    assert intruders.json()["data"] == {"domains": [], "next_cursor": None}

    # The intruder may add the same name, but only DNS control verifies it: acme's
    # published record does not verify the intruder's keys.
    publish(dns, data["records"], "dkim")
    theirs = await api.post("/api/v1/domains", json={"domain": name}, headers=intruder.headers)
    assert theirs.status_code == 201
    checked = await api.post(
        f"/api/v1/domains/{theirs.json()['data']['id']}/verify", headers=intruder.headers
    )
    assert checked.json()["data"]["status"] == "pending"
    ours = await api.post(f"/api/v1/domains/{domain_id}/verify", headers=acme.headers)
    assert ours.json()["data"]["status"] == "verified"
    assert (await api.get(f"/api/v1/domains/{domain_id}", headers=acme.headers)).status_code == 200


async def test_permissions_and_test_keys(api: httpx.AsyncClient, db: Database) -> None:
    mailer = await make_admin(db, "acme", (Permission.MAIL,))
    refused = await api.post(
        "/api/v1/domains", json={"domain": "x.example"}, headers=mailer.headers
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "FORBIDDEN"
    anonymous = await api.get("/api/v1/domains")
    assert anonymous.status_code == 401
    tester = await make_admin(db, "acme", (Permission.PROVIDERS,), test=True)
    refused = await api.post(
        "/api/v1/domains", json={"domain": "x.example"}, headers=tester.headers
    )
    assert refused.status_code == 403 and "live key" in refused.json()["error"]["message"]
    assert (await api.get("/api/v1/domains", headers=tester.headers)).status_code == 200


async def test_openapi_documents_the_domain_routes(api: httpx.AsyncClient) -> None:
    spec = (await api.get("/openapi.json")).json()
    paths = spec["paths"]
    assert set(paths["/api/v1/domains"]) == {"get", "post"}
    assert set(paths["/api/v1/domains/{domain_id}"]) == {"get", "delete"}
    assert "post" in paths["/api/v1/domains/{domain_id}/verify"]
    assert "post" in paths["/api/v1/domains/{domain_id}/rotate-dkim"]
    create = paths["/api/v1/domains"]["post"]
    assert {"201", "400", "401", "403", "409"} <= set(create["responses"])
    examples = create["responses"]["409"]["content"]["application/json"]["examples"]
    assert set(examples) == {"DOMAIN_EXISTS", "DOMAIN_LIMIT_REACHED"}
