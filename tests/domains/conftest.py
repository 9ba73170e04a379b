"""Fixtures of the sending-domain tests: the real gateway, asking the tests' DNS server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from mailpass_common.platform.db import Database
from tests.domains.support import RETURN_PATH_DOMAIN
from tests.support.dns import TestDns
from tests.support.stack import running_gateway


@pytest.fixture
async def api(
    service_env: dict[str, Any], db: Database, dns: TestDns
) -> AsyncIterator[httpx.AsyncClient]:
    async with running_gateway(
        service_env,
        mta_dns_nameservers=[dns.nameserver],
        mta_return_path_domain=RETURN_PATH_DOMAIN,
    ) as client:
        yield client
