"""Routes of the API key administration API (``keys`` permission); the rules are the
service's (:mod:`mailpass_gateway.keys.service`), shared with the console.

A test key sees and revokes only test keys: to it, the account's live keys do not exist
(404), as test data is all a sandbox integration needs, and live keys are the production
credentials.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response

from mailpass_common.platform.db import Document
from mailpass_common.tenants import api_keys
from mailpass_common.tenants.api_keys import ApiKeyRecord
from mailpass_gateway.bodies import after_key, model_schema, openapi_json_body
from mailpass_gateway.deps import Db, KeyCache, KeysKey
from mailpass_gateway.keys import service
from mailpass_gateway.keys.models import (
    CreatedKey,
    CreatedKeyResponse,
    KeyCreate,
    KeyListResponse,
    KeyPage,
    KeyResponse,
    KeyView,
)
from mailpass_gateway.mail.responses import resource_router
from mailpass_gateway.pagination import Page, created_then_id, cut_page

router = resource_router("/api/v1/keys", "keys")

# Read after the key is checked (see mailpass_gateway.bodies).
CreateBody = Annotated[KeyCreate, Depends(after_key(KeyCreate))]


def _view(doc: Document) -> KeyView:
    return KeyView.model_validate(api_keys.api_key_view(doc))


@router.get("", response_model=KeyListResponse, summary="List the account's API keys")
async def list_keys(key: KeysKey, db: Db, page: Page) -> KeyListResponse:
    docs = await service.visible_keys(db, _creator(key))
    shown, next_cursor = cut_page(docs, page, created_then_id("id"))
    return KeyListResponse(data=KeyPage(keys=[_view(d) for d in shown], next_cursor=next_cursor))


@router.post(
    "",
    status_code=201,
    response_model=CreatedKeyResponse,
    summary="Create an API key; the key is in this response only",
    openapi_extra=openapi_json_body(model_schema(KeyCreate)),
)
async def create_key(key: KeysKey, body: CreateBody, db: Db) -> CreatedKeyResponse:
    created, doc = await service.create_key(db, _creator(key), body)
    return CreatedKeyResponse(data=CreatedKey(**_view(doc).model_dump(), key=created.key))


@router.get("/{key_id}", response_model=KeyResponse, summary="One API key")
async def get_key(key_id: str, key: KeysKey, db: Db) -> KeyResponse:
    return KeyResponse(data=_view(await service.owned_key(db, _creator(key), key_id)))


@router.delete(
    "/{key_id}",
    status_code=204,
    response_class=Response,
    summary="Revoke an API key: requests with it are refused from now on",
)
async def delete_key(key_id: str, key: KeysKey, db: Db, keys: KeyCache) -> Response:
    await service.revoke_key(db, keys, _creator(key), key_id)
    return Response(status_code=204)


@router.post(
    "/{key_id}/revoke", response_model=KeyResponse, summary="Revoke an API key (same as DELETE)"
)
async def revoke_key(key_id: str, key: KeysKey, db: Db, keys: KeyCache) -> KeyResponse:
    return KeyResponse(data=_view(await service.revoke_key(db, keys, _creator(key), key_id)))


def _creator(key: ApiKeyRecord) -> service.Creator:
    return service.Creator(key.account_id, frozenset(key.permissions), key.test, "API key")
