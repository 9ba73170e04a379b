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
from mailpass_gateway.mail.responses import resource_router
from mailpass_gateway.pagination import PageQuery, page_query
from mailpass_gateway.templates import service
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
    Content,
    compiled_of,
    owned_template,
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
    doc = await service.create_template(
        db,
        key.account_id,
        name=body.name,
        alias=body.alias,
        content=Content(body.subject, body.html, body.text),
    )
    return TemplateResponse(data=view(doc))


@router.get(
    "/{template_id}",
    response_model=TemplateResponse,
    summary="One template (by id or alias), with its last 20 versions",
)
async def get_template(template_id: str, key: MailKey, db: Db) -> TemplateResponse:
    return TemplateResponse(data=view(await owned_template(db, key.account_id, template_id)))


@router.patch(
    "/{template_id}",
    response_model=TemplateResponse,
    summary="Change a template; a change of subject, html or text is a new version",
    openapi_extra=openapi_json_body(model_schema(TemplateUpdate)),
)
async def update_template(
    template_id: str, key: TemplatesKey, body: UpdateBody, db: Db
) -> TemplateResponse:
    content = None
    given = body.model_fields_set
    if body.subject is not None or "html" in given or "text" in given:
        # A PATCH: the parts not given are the current version's.
        current = await owned_template(db, key.account_id, template_id)
        content = Content(
            body.subject if body.subject is not None else current["subject"],
            body.html if "html" in given else current.get("html"),
            body.text if "text" in given else current.get("text"),
        )
    doc = await service.update_template(
        db, key.account_id, template_id, name=body.name, alias=body.alias, content=content
    )
    return TemplateResponse(data=view(doc))


@router.delete(
    "/{template_id}",
    response_model=DeletedResponse,
    summary="Delete a template (messages it made keep its id and version)",
)
async def delete_template(template_id: str, key: TemplatesKey, db: Db) -> DeletedResponse:
    await service.delete_template(db, key.account_id, template_id)
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
    doc = await owned_template(db, key.account_id, template_id)
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
