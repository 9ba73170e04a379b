"""Request and response bodies of the templates API."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue

from mailpass_common.messages.validation import header_text
from mailpass_common.templates import rendering
from mailpass_common.templates.store import ID_PREFIX

ALIAS_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")
CREATE_EXAMPLE: dict[str, JsonValue] = {
    "name": "Order confirmation",
    "alias": "order-confirmation",
    "subject": "Your order {{ order.number }}",
    "html": "<p>Hi {{ name }},</p><p>Order {{ order.number }} is confirmed.</p>"
    '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>',
    "text": "Hi {{ name }}, order {{ order.number }} is confirmed.",
}


def _alias(value: str) -> str:
    if not ALIAS_PATTERN.match(value) or value.startswith(ID_PREFIX):
        raise ValueError(
            "1-64 characters of a-z, 0-9, _ . - (starting with a letter or digit), "
            f"not starting with {ID_PREFIX}"
        )
    return value


Name = Annotated[str, AfterValidator(header_text), Field(min_length=1, max_length=200)]
Alias = Annotated[str, AfterValidator(_alias)]
Subject = Annotated[str, Field(min_length=1, max_length=rendering.MAX_SUBJECT_TEMPLATE_CHARS)]
Body = Annotated[str, Field(max_length=rendering.MAX_TEMPLATE_CHARS)]
Variables = dict[str, Any]


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [CREATE_EXAMPLE]})

    name: Name
    alias: Alias | None = Field(
        None, description="A stable name to send with instead of the id, unique per account"
    )
    subject: Subject = Field(description="Liquid; variables are not escaped here")
    html: Body | None = Field(None, description="Liquid; variables are HTML-escaped here")
    text: Body | None = Field(None, description="Liquid; variables are not escaped here")


class TemplateUpdate(BaseModel):
    """Any of the fields; a change of subject, html or text makes a new version."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"subject": "Order {{ order.number }}"}]}
    )

    name: Name | None = None
    alias: Alias | None = None
    subject: Subject | None = None
    html: Body | None = None
    text: Body | None = None


class RenderRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"variables": {"name": "Ann", "order": {"number": "A-1001"}}}]
        },
    )

    variables: Variables = Field({}, description="The values the template uses")


class TemplateSummary(BaseModel):
    id: str
    name: str
    alias: str | None
    version: int
    variables: list[str] = Field(description="The variables the template uses")
    created_at: datetime
    updated_at: datetime


class TemplateVersion(BaseModel):
    version: int
    subject: str
    html: str | None
    text: str | None
    created_at: datetime


class TemplateView(TemplateSummary):
    subject: str
    html: str | None
    text: str | None
    versions: list[TemplateVersion] = Field(description="The last 20 versions, newest first")


class TemplateResponse(BaseModel):
    success: bool = True
    data: TemplateView


class TemplatePage(BaseModel):
    templates: list[TemplateSummary] = Field(description="Oldest first")
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page")


class TemplateListResponse(BaseModel):
    success: bool = True
    data: TemplatePage


class RenderedView(BaseModel):
    subject: str
    html: str | None
    text: str | None
    version: int


class RenderResponse(BaseModel):
    success: bool = True
    data: RenderedView


class DeletedResponse(BaseModel):
    success: bool = True
