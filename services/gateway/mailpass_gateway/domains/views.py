"""Routes of the sending domains API (``providers`` permission; changes need a live key).

A domain is added with a fresh DKIM key and its records to publish; ``verify`` looks them
up now, and the domain is ``verified`` once its DKIM record matches: mail from it through
MailPass's own delivery is then signed (``mailpass_common.mta``). Another account's
domain, like a missing one, is 404.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Response

from mailpass_common.platform.errors import ErrorCode
from mailpass_gateway.bodies import after_key, model_schema, openapi_json_body
from mailpass_gateway.deps import Db, ProvidersKey, Settings
from mailpass_gateway.domains import service
from mailpass_gateway.domains.models import (
    DomainCreate,
    DomainListResponse,
    DomainPage,
    DomainResponse,
    DomainView,
)
from mailpass_gateway.domains.service import (
    LiveDomainsKey,
    Resolver,
    add_domain,
    domain_view,
    list_views,
    owned_domain,
    verify,
)
from mailpass_gateway.mail.responses import error_responses, resource_router
from mailpass_gateway.pagination import Page, created_then_id, cut_page
from mailpass_gateway.providers.service import Cipher

router = resource_router("/api/v1/domains", "domains")

CreateBody = Annotated[DomainCreate, Depends(after_key(DomainCreate))]


@router.get("", response_model=DomainListResponse, summary="List the account's sending domains")
async def list_domains(
    key: ProvidersKey, db: Db, settings: Settings, page: Page
) -> DomainListResponse:
    views = await list_views(db, key.account_id, settings)
    shown, next_cursor = cut_page(views, page, created_then_id("id"))
    domains = [DomainView.model_validate(v) for v in shown]
    return DomainListResponse(data=DomainPage(domains=domains, next_cursor=next_cursor))


@router.post(
    "",
    status_code=201,
    response_model=DomainResponse,
    summary="Add a sending domain: its DKIM key is made, its records are to publish",
    openapi_extra=openapi_json_body(model_schema(DomainCreate)),
    responses=error_responses(ErrorCode.DOMAIN_EXISTS, ErrorCode.DOMAIN_LIMIT_REACHED),
)
async def create_domain(
    key: LiveDomainsKey, body: CreateBody, db: Db, cipher: Cipher, settings: Settings
) -> DomainResponse:
    doc = await add_domain(db, cipher, key.account_id, body.domain)
    return DomainResponse(data=DomainView.model_validate(await domain_view(db, doc, settings)))


@router.get("/{domain_id}", response_model=DomainResponse, summary="One sending domain")
async def get_domain(
    domain_id: str, key: ProvidersKey, db: Db, settings: Settings
) -> DomainResponse:
    doc = await owned_domain(db, key.account_id, domain_id)
    return DomainResponse(data=DomainView.model_validate(await domain_view(db, doc, settings)))


@router.delete(
    "/{domain_id}",
    status_code=204,
    response_class=Response,
    summary="Remove a sending domain and its keys: mail from it is no longer sent",
)
async def delete_domain(domain_id: str, key: LiveDomainsKey, db: Db) -> Response:
    await service.delete_domain(db, key.account_id, domain_id)
    return Response(status_code=204)


@router.post(
    "/{domain_id}/verify",
    response_model=DomainResponse,
    summary="Look the domain's records up now; verified once its DKIM record matches",
)
async def verify_domain(
    domain_id: str, key: LiveDomainsKey, db: Db, settings: Settings, resolver: Resolver
) -> DomainResponse:
    doc = await owned_domain(db, key.account_id, domain_id)
    return DomainResponse(data=DomainView.model_validate(await verify(db, resolver, doc, settings)))


@router.post(
    "/{domain_id}/rotate-dkim",
    response_model=DomainResponse,
    summary="New DKIM keys under new selectors; the current ones sign until the new "
    "record verifies",
)
async def rotate_dkim(
    domain_id: str, key: LiveDomainsKey, db: Db, cipher: Cipher, settings: Settings
) -> DomainResponse:
    doc = await service.rotate_dkim(db, cipher, key.account_id, domain_id)
    return DomainResponse(data=DomainView.model_validate(await domain_view(db, doc, settings)))
