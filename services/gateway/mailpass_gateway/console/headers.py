"""Security headers of every console response.

The Content-Security-Policy allows scripts, styles and images from the console itself
only: no inline script or style anywhere (the charts are SVG with attributes, not
styles), no other origin, no framing of the console. The one exception is a message's
rendered HTML (``/console/messages/{id}/html``), which sets its own, stricter policy:
a sandboxed document of its own origin where nothing runs and only the email's own
inline styles apply (see ``views.messages``).
"""

from __future__ import annotations

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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


def csp_with_form_target(origin: str) -> str:
    """The policy of a page whose form's answer redirects to ``origin`` (the sign-in
    button of an identity provider): browsers apply ``form-action`` to the redirects
    that follow a form's post too."""
    return CONSOLE_CSP.replace("form-action 'self'", f"form-action 'self' {origin}")


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
    app.add_middleware(ConsoleHeaders)


class ConsoleHeaders:
    """Pure ASGI (never between a route and its body: the body limit's refusal must reach
    the route's reader unwrapped), adding the headers to console responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/console"):
            await self.app(scope, receive, send)
            return
        static = path.startswith("/console/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if static:
                    # Scripts and styles: kept, but checked again (ETag) on every use.
                    headers.setdefault("Cache-Control", "no-cache")
                for name, value in HEADERS.items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)
