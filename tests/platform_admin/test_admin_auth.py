"""The admin API's own token: absent, wrong or an account's key is 401; no token
configured is 404 on every route; a token in a file (a mounted Secret) works."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from tests.platform_admin.conftest import ADMIN, TOKEN
from tests.support.stack import running_gateway
from tests.support.tenants import make_admin

ROUTES = [
    ("GET", "/admin/v1/accounts"),
    ("POST", "/admin/v1/accounts"),
    ("GET", "/admin/v1/accounts/acc_x"),
    ("POST", "/admin/v1/accounts/acc_x/suspend"),
    ("POST", "/admin/v1/accounts/acc_x/unsuspend"),
    ("PUT", "/admin/v1/accounts/acc_x/default-limits"),
    ("GET", "/admin/v1/accounts/acc_x/usage"),
    ("POST", "/admin/v1/accounts/acc_x/invitations"),
    ("DELETE", "/admin/v1/accounts/acc_x"),
]


@pytest.mark.parametrize(("method", "path"), ROUTES)
async def test_without_the_token_every_route_is_401(
    api: httpx.AsyncClient, db: Database, method: str, path: str
) -> None:
    tenant = await make_admin(db, "acme")
    for headers in (
        {},
        {"Authorization": "Bearer wrong-token"},
        {"Authorization": f"Bearer {TOKEN}x"},
        tenant.headers,  # an account's key, even one with every permission
    ):
        response = await api.request(method, path, json={}, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["error"]["code"] == "UNAUTHORIZED"


async def test_no_token_configured_is_404(db: Database, service_env: dict[str, Any]) -> None:
    async with running_gateway(service_env) as api:
        for method, path in ROUTES:
            response = await api.request(method, path, json={}, headers=ADMIN)
            assert response.status_code == 404, (method, path, response.text)
            assert response.json()["error"]["code"] == "NOT_FOUND"


async def test_the_token_from_a_file(
    db: Database, service_env: dict[str, Any], tmp_path: Path
) -> None:
    token_file = tmp_path / "admin-token"
    token_file.write_text(TOKEN + "\n")
    async with running_gateway(service_env, admin_api_token_file=str(token_file)) as api:
        assert (await api.get("/admin/v1/accounts", headers=ADMIN)).status_code == 200
        token_file.write_text("rotated-admin-token-0123456789abcdef")
        assert (await api.get("/admin/v1/accounts", headers=ADMIN)).status_code == 401


def test_a_short_token_is_refused_at_start() -> None:
    from mailpass_gateway.settings import GatewaySettings

    with pytest.raises(ValueError, match="ADMIN_API_TOKEN must be at least 32 bytes"):
        GatewaySettings(admin_api_token="admin")
    assert GatewaySettings(admin_api_token=TOKEN).admin_token() == TOKEN
    assert GatewaySettings().admin_token() is None
