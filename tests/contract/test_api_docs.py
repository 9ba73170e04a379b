"""/docs and /redoc load their scripts from a CDN on the console's origin: off in
production, and when on, pinned versions under a Content-Security-Policy that allows
nothing else."""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from tests.support.stack import running_gateway

PRODUCTION = {"environment": "production", "secret_key": "production-secret-" + "k" * 32}


async def test_the_docs_are_off_in_production(service_env: dict[str, Any]) -> None:
    async with running_gateway(service_env, **PRODUCTION) as api:
        for path in ("/docs", "/redoc", "/docs/oauth2-redirect"):
            assert (await api.get(path)).status_code == 404, path
        assert (await api.get("/openapi.json")).status_code == 200  # clients still read it


async def test_the_docs_when_on_load_only_pinned_scripts_under_a_csp(
    service_env: dict[str, Any],
) -> None:
    async with running_gateway(service_env, **PRODUCTION, api_docs=True) as api:
        for path, marker in (("/docs", "SwaggerUIBundle"), ("/redoc", "<redoc")):
            page = await api.get(path)
            assert page.status_code == 200 and marker in page.text, path
            policy = dict(
                directive.strip().split(" ", 1)
                for directive in page.headers["content-security-policy"].split(";")
            )
            assert policy["default-src"] == "'none'" and policy["frame-ancestors"] == "'none'"
            allowed = policy["script-src"].split()
            assert "'unsafe-inline'" not in allowed and "'unsafe-eval'" not in allowed
            sources = re.findall(r'<script src="([^"]+)"', page.text)
            assert sources and all(s in allowed for s in sources), (sources, allowed)
            for source in [*sources, *re.findall(r'href="(https://[^"]+)"', page.text)]:
                assert re.search(r"@\d+\.\d+\.\d+/", source), f"{source} is not pinned"
            for inline in re.findall(r"<script>(.*?)</script>", page.text, re.S):
                digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
                assert f"'sha256-{digest}'" in allowed
            hosts = {h for h in allowed if h.startswith("https://")}
            assert hosts == set(sources)  # exact files, no wildcard host
