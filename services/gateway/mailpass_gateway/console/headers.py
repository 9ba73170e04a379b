"""Security headers of every console response.

The Content-Security-Policy allows scripts, styles and images from the console itself
only: no inline script or style anywhere (the charts are SVG with attributes, not
styles), no other origin, no framing of the console. The one exception is a message's
rendered HTML (``/console/messages/{id}/html``), which sets its own, stricter policy:
a sandboxed document of its own origin where nothing runs and only the email's own
inline styles apply (see ``views.messages``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response

CONSOLE_CSP = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    ]
)
HEADERS = {
    "Content-Security-Policy": CONSOLE_CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
    # Pages show account data (and a new key once): never kept by the browser or a proxy.
    "Cache-Control": "no-store",
}


def install_console_headers(app: FastAPI) -> None:
    @app.middleware("http")
    async def console_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        if request.url.path.startswith("/console"):
            if request.url.path.startswith("/console/static/"):
                # Scripts and styles: kept, but checked again (ETag) on every use.
                response.headers.setdefault("Cache-Control", "no-cache")
            for name, value in HEADERS.items():
                response.headers.setdefault(name, value)
        return response
