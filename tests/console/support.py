"""Signing in to the console over plain HTTP, and reading its forms."""

from __future__ import annotations

import html
import re

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_token(page: httpx.Response) -> str:
    found = CSRF.search(page.text)
    assert found, f"no CSRF token on {page.url}"
    return html.unescape(found.group(1))


async def sign_in(client: httpx.AsyncClient, api_key: str) -> httpx.Response:
    """Sign in with a key, as the form does; returns the response to the post."""
    page = await client.get("/console/sign-in")
    return await client.post(
        "/console/sign-in",
        data={"csrf_token": csrf_token(page), "api_key": api_key, "next": ""},
    )


async def post_form(
    client: httpx.AsyncClient, page_path: str, action: str, **fields: str | list[str]
) -> httpx.Response:
    """Post a form of ``page_path`` with the CSRF token that page carries."""
    page = await client.get(page_path)
    assert page.status_code == 200, (page_path, page.status_code, page.text[:500])
    return await client.post(action, data={"csrf_token": csrf_token(page), **fields})
