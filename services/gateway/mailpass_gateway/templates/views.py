"""Routes of the templates API: ``mail`` to read and render templates (what sending with
one needs), ``templates`` to create, change and delete them."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import Depends

from mailpass_common.templates import store
from mailpass_common.templates.rendering import RenderBudget, TemplateProblem
from mailpass_gateway.bodies import after_key, model_schema, openapi_json_body
from mailpass_gateway.deps import Db, MailKey, Settings, TemplatesKey
from mailpass_gateway.errors import validation_error
from mailpass_gateway.mail.responses import resource_router
from mailpass_gateway.pagination import PageQuery, page_query
from mailpass_gateway.templates.models import (
    DeletedResponse,
    RenderedView,
    RenderRequest,
    RenderResponse,
    TemplateCreate,
    TemplateListResponse,
    TemplatePage,
    TemplateResponse,
    TemplateUpdate,
)
from mailpass_gateway.templates.service import (
    UNSUBSCRIBE_URL,
    checked_parts,
    compiled_of,
    not_found,
    problem_error,
    summary,
    view,
)

router = resource_router("/api/v1/templates", "templates")

CreateBody = Annotated[TemplateCreate, Depends(after_key(TemplateCreate))]
UpdateBody = Annotated[TemplateUpdate, Depends(after_key(TemplateUpdate))]
RenderBody = Annotated[RenderRequest, Depends(after_key(RenderRequest))]
PAGES = page_query(default=50, maximum=store.MAX_PAGE, former="after")
PREVIEW_UNSUBSCRIBE_PATH = "/t/u/preview"


def _alias_taken() -> Exception:
    return validation_error([{"field": "alias", "message": "another template has this alias"}])


@router.get("", response_model=TemplateListResponse, summary="List the account's templates")
async def list_templates(
    key: MailKey,
    db: Db,
    page: Annotated[PageQuery, Depends(PAGES)],
) -> TemplateListResponse:
    docs, cursor = await store.page(db, key.account_id, limit=page.limit, after=page.cursor)
    return TemplateListResponse(
        data=TemplatePage(templates=[summary(d) for d in docs], next_cursor=cursor)
    )


@router.post(
    "",
    status_code=201,
    response_model=TemplateResponse,
    summary="Create a template (Liquid); it is checked before it is stored",
    openapi_extra=openapi_json_body(model_schema(TemplateCreate)),
)
async def create_template(key: TemplatesKey, body: CreateBody, db: Db) -> TemplateResponse:
    parts = checked_parts(body.subject, body.html, body.text)
    try:
        doc = await store.create(db, key.account_id, name=body.name, alias=body.alias, parts=parts)
    except store.AliasTaken:
        raise _alias_taken() from None
    return TemplateResponse(data=view(doc))


@router.get(
    "/{template_id}",
    response_model=TemplateResponse,
    summary="One template (by id or alias), with its last 20 versions",
)
async def get_template(template_id: str, key: MailKey, db: Db) -> TemplateResponse:
    doc = await store.get(db, key.account_id, template_id)
    if doc is None:
        raise not_found(template_id)
    return TemplateResponse(data=view(doc))


@router.patch(
    "/{template_id}",
    response_model=TemplateResponse,
    summary="Change a template; a change of subject, html or text is a new version",
    openapi_extra=openapi_json_body(model_schema(TemplateUpdate)),
)
async def update_template(
    template_id: str, key: TemplatesKey, body: UpdateBody, db: Db
) -> TemplateResponse:
    parts = None
    if (
        body.subject is not None
        or "html" in body.model_fields_set
        or "text" in body.model_fields_set
    ):
        current = await store.get(db, key.account_id, template_id)
        if current is None:
            raise not_found(template_id)
        given = body.model_fields_set
        parts = checked_parts(
            body.subject if body.subject is not None else current["subject"],
            body.html if "html" in given else current.get("html"),
            body.text if "text" in given else current.get("text"),
        )
    try:
        doc = await store.update(
            db, key.account_id, template_id, name=body.name, alias=body.alias, parts=parts
        )
    except store.AliasTaken:
        raise _alias_taken() from None
    if doc is None:
        raise not_found(template_id)
    return TemplateResponse(data=view(doc))


@router.delete(
    "/{template_id}",
    response_model=DeletedResponse,
    summary="Delete a template (messages it made keep its id and version)",
)
async def delete_template(template_id: str, key: TemplatesKey, db: Db) -> DeletedResponse:
    if not await store.delete(db, key.account_id, template_id):
        raise not_found(template_id)
    return DeletedResponse()


@router.post(
    "/{template_id}/render",
    response_model=RenderResponse,
    summary="Render a template with variables, without sending",
    description="The subject, html and text a send with these variables would have. "
    "`unsubscribe_url` is a placeholder link here (a real send gets the recipient's).",
    openapi_extra=openapi_json_body(model_schema(RenderRequest)),
)
async def render_template(
    template_id: str, key: MailKey, body: RenderBody, db: Db, settings: Settings
) -> RenderResponse:
    doc = await store.get(db, key.account_id, template_id)
    if doc is None:
        raise not_found(template_id)
    variables = {
        **body.variables,
        UNSUBSCRIBE_URL: settings.tracker_base_url.rstrip("/") + PREVIEW_UNSUBSCRIBE_PATH,
    }
    try:
        rendered = await asyncio.to_thread(compiled_of(doc).render, variables, RenderBudget())
    except TemplateProblem as exc:
        raise problem_error(exc) from exc
    return RenderResponse(
        data=RenderedView(
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            version=int(doc["version"]),
        )
    )
