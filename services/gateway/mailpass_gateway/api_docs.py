"""``/docs`` (Swagger UI) and ``/redoc``: off in production, pinned and under a CSP when on.

The pages load their scripts from a CDN, and they are served on the gateway's origin,
the console's: a script swapped on the CDN would run with the console's cookies. So:

- they are off unless ``API_DOCS`` is set, or the environment is ``development``
  (``make run``); ``/openapi.json`` stays, for clients and code generators;
- when on, each script and stylesheet is a pinned version (``@5.17.14``, never a moving
  ``@5``), and the page carries a Content-Security-Policy that allows exactly those URLs,
  the page's own inline script by its SHA-256 hash, and connections to this origin only
  (to read ``/openapi.json``): no other script can run, nothing can frame the page.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

SWAGGER_JS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.17.14/swagger-ui-bundle.js"
SWAGGER_CSS = "https://cdn.jsdelivr.net/npm/swagger-ui-dist@5.17.14/swagger-ui.css"
REDOC_JS = "https://cdn.jsdelivr.net/npm/redoc@2.1.5/bundles/redoc.standalone.js"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


def docs_enabled(api_docs: bool | None, environment: str) -> bool:
    return api_docs if api_docs is not None else environment == "development"


def _with_csp(page: HTMLResponse, scripts: list[str], styles: list[str]) -> HTMLResponse:
    html = bytes(page.body).decode()
    inline = [
        f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'"
        for s in _INLINE_SCRIPT.findall(html)
    ]
    policy = "; ".join(
        [
            "default-src 'none'",
            "script-src " + " ".join([*scripts, *inline]),
            # Both UIs set element styles from script (style attributes).
            "style-src " + " ".join([*styles, "'unsafe-inline'"]),
            "img-src 'self' data:",
            "font-src data:",
            "connect-src 'self'",
            "worker-src blob:",  # ReDoc's search index runs in a worker made from a blob
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )
    headers = {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return HTMLResponse(html, headers=headers)


def install_api_docs(app: FastAPI, title: str) -> None:
    """Serve ``/docs`` and ``/redoc`` (the app is made with ``docs_url=None``)."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=openapi_url,
            title=f"{title} - Swagger UI",
            swagger_js_url=SWAGGER_JS,
            swagger_css_url=SWAGGER_CSS,
            swagger_favicon_url="data:,",
        )
        return _with_csp(page, [SWAGGER_JS], [SWAGGER_CSS])

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{title} - ReDoc",
            redoc_js_url=REDOC_JS,
            redoc_favicon_url="data:,",
            with_google_fonts=False,
        )
        return _with_csp(page, [REDOC_JS], [])
