"""Routes of the provider administration API (``providers`` permission).

Where a provider may point is checked when it is saved (``registry.check_targets``: the egress
policy, official API hosts, SES keys) and again at every connection. Test keys may only
read providers (see ``deps.LiveProvidersKey``).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response

from mailpass_common.providers import service as providers
from mailpass_common.providers.config import ProviderConfigError
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.providers.registry import (
    PROVIDER_TYPES,
    public_view,
)
from mailpass_gateway.bodies import after_key, model_schema, openapi_json_body
from mailpass_gateway.deps import Db, LiveProvidersKey, Providers, ProvidersKey
from mailpass_gateway.mail.responses import resource_router
from mailpass_gateway.pagination import Page, created_then_id, cut_page
from mailpass_gateway.providers.models import (
    ProviderCheck,
    ProviderCheckResponse,
    ProviderCreate,
    ProviderListResponse,
    ProviderPage,
    ProviderResponse,
    ProviderUpdate,
    ProviderView,
)
from mailpass_gateway.providers.service import (
    AccountProviders,
    Cipher,
    Options,
    config_error,
    name_taken,
    owned_provider,
    run_check,
)

router = resource_router("/api/v1/providers", "providers")

# Read after the key is checked (see mailpass_gateway.bodies).
CreateBody = Annotated[ProviderCreate, Depends(after_key(ProviderCreate))]
UpdateBody = Annotated[ProviderUpdate, Depends(after_key(ProviderUpdate))]


def _view(doc: ProviderDocument) -> ProviderView:
    return ProviderView.model_validate(public_view(doc))


@router.get("", response_model=ProviderListResponse, summary="List the account's providers")
async def list_providers(key: ProvidersKey, db: Db, page: Page) -> ProviderListResponse:
    docs = await providers.list_providers(db, key.account_id)
    shown, next_cursor = cut_page(docs, page, created_then_id("_id"))
    return ProviderListResponse(
        data=ProviderPage(providers=[_view(doc) for doc in shown], next_cursor=next_cursor)
    )


@router.post(
    "",
    status_code=201,
    response_model=ProviderResponse,
    summary=f"Add a provider ({', '.join(PROVIDER_TYPES)}); secrets are write-only",
    openapi_extra=openapi_json_body(model_schema(ProviderCreate)),
)
async def create_provider(
    key: LiveProvidersKey,
    body: CreateBody,
    db: Db,
    cipher: Cipher,
    options: Options,
    cache: Providers,
) -> ProviderResponse:
    store = AccountProviders(db, cipher, options, cache, key.account_id)
    try:
        checked = await store.checked_config(body.type, body.config)
    except ProviderConfigError as exc:
        raise config_error(exc) from exc
    try:
        doc = await store.add(body, body.type, checked, default=body.is_default)
    except providers.ProviderNameTaken as exc:
        raise name_taken(body.name) from exc
    return ProviderResponse(data=_view(doc))


@router.get("/{provider_id}", response_model=ProviderResponse, summary="One provider")
async def get_provider(provider_id: str, key: ProvidersKey, db: Db) -> ProviderResponse:
    return ProviderResponse(data=_view(await owned_provider(db, key.account_id, provider_id)))


@router.patch(
    "/{provider_id}",
    response_model=ProviderResponse,
    summary="Change a provider; each change increments its version",
    openapi_extra=openapi_json_body(model_schema(ProviderUpdate)),
)
async def update_provider(
    provider_id: str,
    key: LiveProvidersKey,
    body: UpdateBody,
    db: Db,
    cipher: Cipher,
    options: Options,
    cache: Providers,
) -> ProviderResponse:
    store = AccountProviders(db, cipher, options, cache, key.account_id)
    fields = body.common_changes()
    doc = await owned_provider(db, key.account_id, provider_id)
    if fields or body.config:
        try:
            doc = await store.update(doc, fields, body.config)
        except ProviderConfigError as exc:
            raise config_error(exc) from exc
        except providers.ProviderNameTaken as exc:
            raise name_taken(str(fields.get("name"))) from exc
    if body.is_default and not doc.get("is_default"):
        await store.make_default(provider_id)
        doc = await owned_provider(db, key.account_id, provider_id)
    return ProviderResponse(data=_view(doc))


@router.delete(
    "/{provider_id}",
    status_code=204,
    response_class=Response,
    summary="Delete a provider (deleting the default leaves the account without one)",
)
async def delete_provider(
    provider_id: str,
    key: LiveProvidersKey,
    db: Db,
    cipher: Cipher,
    options: Options,
    cache: Providers,
) -> Response:
    store = AccountProviders(db, cipher, options, cache, key.account_id)
    await store.delete(provider_id)
    return Response(status_code=204)


@router.post(
    "/{provider_id}/default",
    response_model=ProviderResponse,
    summary="Make this provider the account's default (the one /mail/send uses)",
)
async def set_default(
    provider_id: str,
    key: LiveProvidersKey,
    db: Db,
    cipher: Cipher,
    options: Options,
    cache: Providers,
) -> ProviderResponse:
    store = AccountProviders(db, cipher, options, cache, key.account_id)
    await store.make_default(provider_id)
    return ProviderResponse(data=_view(await owned_provider(db, key.account_id, provider_id)))


@router.post(
    "/{provider_id}/test",
    response_model=ProviderCheckResponse,
    response_model_exclude_none=True,
    summary="Connect and authenticate without sending",
    description="200 whenever the test could run: `data.ok` says whether the provider "
    "accepted the connection and credentials; when it did not, `data.error` carries the "
    "provider's reply (e.g. `535 5.7.8 Authentication credentials invalid`), truncated; "
    "a server that does not answer in SMTP, or an HTTP body, is never repeated. The "
    "connection obeys the platform's egress policy, as deliveries do. Live keys only.",
)
async def test_provider(
    provider_id: str, key: LiveProvidersKey, db: Db, cipher: Cipher, options: Options
) -> ProviderCheckResponse:
    doc = await owned_provider(db, key.account_id, provider_id)
    error = await run_check(db, cipher, doc, options)
    return ProviderCheckResponse(data=ProviderCheck(ok=error is None, error=error))
