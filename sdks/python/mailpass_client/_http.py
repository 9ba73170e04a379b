"""What the sync and async clients share: requests, the retry rule, answers to errors.

Retried, up to ``max_retries`` times: connection errors and timeouts, 429 (after its
``Retry-After``) and 5xx, for requests that are safe to repeat — reads, and sends, which
carry one ``Idempotency-Key`` made per call and kept on every retry, so the API answers a
retry with the first outcome instead of sending again. Other writes are retried only when
the connection could not even be opened.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from mailpass_client._version import __version__
from mailpass_client.errors import ApiError, error_class

USER_AGENT = f"mailpass-python/{__version__}"
DEFAULT_TIMEOUT = 60.0  # /send waits up to 30 s for the delivery
DEFAULT_MAX_RETRIES = 2
MAX_RETRY_WAIT = 60.0
RETRIED_STATUSES = frozenset({429, 500, 502, 503, 504})


def base_url_of(base_url: str | None) -> str:
    url = base_url or os.environ.get("MAILPASS_BASE_URL") or "https://dev.mailpass.im"
    return url.rstrip("/")


def new_idempotency_key() -> str:
    return f"mpk_{uuid.uuid4().hex}"


@dataclass(frozen=True)
class Call:
    method: str
    path: str
    params: Mapping[str, Any] | None = None
    body: Any = None
    idempotency_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def repeatable(self) -> bool:
        return self.method in ("GET", "HEAD", "PUT", "DELETE") or self.idempotency_key is not None

    def request(self, client: httpx.Client | httpx.AsyncClient) -> httpx.Request:
        headers = dict(self.headers)
        if self.idempotency_key is not None:
            headers["Idempotency-Key"] = self.idempotency_key
        params = {k: v for k, v in (self.params or {}).items() if v is not None}
        params = {k: str(v).lower() if isinstance(v, bool) else v for k, v in params.items()}
        return client.build_request(
            self.method,
            self.path,
            params=params or None,
            json=self.body if self.body is not None else None,
            headers=headers,
        )


def client_headers(api_key: str) -> dict[str, str]:
    if not api_key:
        raise ValueError("An API key is required (mp_live_... or mp_test_...)")
    return {
        "Authorization": f"Bearer {api_key}",
        "User-Agent": USER_AGENT,
        "Accept": "application/json",
    }


def retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def wait_before_retry(attempt: int, response: httpx.Response | None) -> float:
    """Seconds before retry number ``attempt`` (1-based): the API's ``Retry-After`` when it
    gave one, otherwise exponential back-off with jitter (0.5 s, 1 s, 2 s, ...)."""
    if response is not None:
        asked = retry_after(response)
        if asked is not None:
            return min(asked, MAX_RETRY_WAIT)
    backoff: float = 0.5 * 2 ** (attempt - 1)
    return min(backoff, MAX_RETRY_WAIT) * random.uniform(0.8, 1.2)


def should_retry(call: Call, response: httpx.Response) -> bool:
    return call.repeatable and response.status_code in RETRIED_STATUSES


def retried_error(call: Call, error: httpx.TransportError) -> bool:
    return call.repeatable or isinstance(error, httpx.ConnectError)


def decoded(response: httpx.Response) -> dict[str, Any]:
    """The response's JSON object, or the :class:`ApiError` it stands for."""
    if response.status_code == 204:
        return {}
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.is_success and isinstance(body, dict):
        return body
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict):
        error = {"code": "HTTP_ERROR", "message": response.text[:200] or response.reason_phrase}
    raise error_class(response.status_code)(
        response.status_code,
        str(error.get("code", "HTTP_ERROR")),
        str(error.get("message", "")),
        error.get("details"),
        retry_after=retry_after(response),
        request_id=response.headers.get("X-Request-Id"),
    )


__all__ = ["ApiError"]
