"""SES providers send with their own keys, to AWS or the operator's endpoint: never as the
platform's AWS identity, and never to an endpoint a tenant chose."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from typing import Any, cast

import pytest
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Document
from mailpass_common.providers.delivery.check import check_connection
from mailpass_common.providers.delivery.options import DeliveryOptions
from mailpass_common.providers.models import ProviderDocument
from tests.support.moto import moto_ses
from tests.support.stack import serve_app

CIPHER = CredentialCipher("s" * 32)
# What a pod's environment (or IRSA, or an instance role) would lend botocore.
PLATFORM_IDENTITY = {
    "AWS_ACCESS_KEY_ID": "AKIAPLATFORM",
    "AWS_SECRET_ACCESS_KEY": "platform-secret",
    "AWS_SESSION_TOKEN": "platform-session-token",
}
TENANT_KEYS = {"access_key_id": "AKIATENANT", "secret_access_key": "tenant-secret"}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    with moto_ses("sender@verified.test") as url:
        yield url


@pytest.fixture
def platform_identity(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PLATFORM_IDENTITY.items():
        monkeypatch.setenv(name, value)


def ses_provider(config: dict[str, Any], secrets: dict[str, Any]) -> ProviderDocument:
    # What opening a provider reads of its document; the rest plays no part here.
    doc: Document = {
        "_id": "prv_ses",
        "type": "ses",
        "config": {"region": "us-east-1", **config},
        "secret": CIPHER.encrypt(secrets),
        "version": 1,
    }
    return cast(ProviderDocument, doc)


@dataclass
class Recorder:
    """An HTTP endpoint that answers SES's ListEmailIdentities and keeps every request."""

    requests: list[dict[str, str]] = field(default_factory=list)

    def app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST"])
        async def anything(path: str, request: Request) -> JSONResponse:
            self.requests.append(dict(request.headers))
            return JSONResponse({"EmailIdentities": []})

        return app


@pytest.fixture
async def operator_endpoint() -> AsyncIterator[tuple[str, Recorder]]:
    recorder = Recorder()
    async with serve_app(recorder.app()) as url:
        yield url, recorder


@pytest.fixture
async def tenant_endpoint() -> AsyncIterator[tuple[str, Recorder]]:
    recorder = Recorder()
    async with serve_app(recorder.app()) as url:
        yield url, recorder


@pytest.mark.usefixtures("platform_identity")
async def test_a_provider_without_keys_does_not_send_as_the_platform(moto_url: str) -> None:
    keyless = ses_provider({}, {})
    refused = await check_connection(keyless, CIPHER, DeliveryOptions(ses_endpoint_url=moto_url))
    assert refused == (
        "SES provider has no access keys, and this platform does not lend its own AWS "
        "identity (SES_ALLOW_AMBIENT_CREDENTIALS is off)"
    )
    # A single-tenant installation may choose to lend it.
    lent = DeliveryOptions(ses_endpoint_url=moto_url, ses_allow_ambient_credentials=True)
    assert await check_connection(keyless, CIPHER, lent) is None


@pytest.mark.usefixtures("platform_identity")
async def test_requests_go_to_the_operators_endpoint_signed_with_the_providers_keys(
    operator_endpoint: tuple[str, Recorder], tenant_endpoint: tuple[str, Recorder]
) -> None:
    operator_url, operator = operator_endpoint
    tenant_url, tenant = tenant_endpoint
    # An endpoint_url stored in the provider (before it became the operator's setting).
    stored = ses_provider({"endpoint_url": tenant_url}, TENANT_KEYS)
    options = DeliveryOptions(ses_endpoint_url=operator_url)
    assert await check_connection(stored, CIPHER, options) is None
    assert tenant.requests == []
    [request] = operator.requests
    assert "Credential=AKIATENANT/" in request["authorization"]
    assert "x-amz-security-token" not in request  # nothing of the platform's session
