"""SMTP Settings: the account's providers, their limits, use, circuit and last check;
adding and editing one of each type, testing, making one the default, deleting.

Every change goes through what the API uses (``provider_config`` to validate,
``mailpass_common.providers.service`` to store, the same credential cipher and the same cache
invalidation), so a provider made here is the one the API would have made. Changing
needs the ``providers`` permission; a test key's session has no providers to show (they
are live settings: its messages go to the sandbox capture).
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.providers import circuits
from mailpass_common.providers import service as providers
from mailpass_common.providers.config import ProviderConfigError, validate_fields
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.providers.registry import (
    PLUGINS,
    public_view,
)
from mailpass_common.tenants.api_keys import Permission
from mailpass_common.tenants.console_auth import ConsoleSession
from mailpass_gateway.console import provider_forms as forms
from mailpass_gateway.console.deps import CheckedForm, Session, require
from mailpass_gateway.console.forms import Form
from mailpass_gateway.console.pages import render
from mailpass_gateway.console.routing import ConsoleRoute
from mailpass_gateway.console.views.overview import provider_usage
from mailpass_gateway.deps import Db, Providers
from mailpass_gateway.errors import ApiError
from mailpass_gateway.providers.service import (
    AccountProviders,
    Cipher,
    Options,
    name_taken,
    owned_provider,
    run_check,
)

router = APIRouter(prefix="/console/providers", route_class=ConsoleRoute, include_in_schema=False)


def live_only(session: ConsoleSession) -> None:
    if session.test:
        raise ApiError(
            ErrorCode.FORBIDDEN,
            "A test key's session has no providers: its messages go to the sandbox. "
            "Sign in with a live key to manage providers.",
        )


def _type_or_404(type_: str) -> str:
    if type_ not in PLUGINS:
        raise ApiError(ErrorCode.NOT_FOUND, f"No provider type {type_!r}")
    return type_


async def _row(
    db: Database, doc: ProviderDocument, open_circuits: dict[str, Any]
) -> dict[str, Any]:
    return {
        "view": public_view(doc),
        "summary": forms.summary(doc),
        "type_name": forms.TYPE_NAMES.get(doc["type"], doc["type"]),
        "usage": await provider_usage(db, doc),
        "circuit": open_circuits.get(doc["_id"]),
    }


@router.get("")
async def provider_list(request: Request, session: Session, db: Db) -> Response:
    rows: list[dict[str, Any]] = []
    if not session.test:
        docs = await providers.list_providers(db, session.account_id)
        open_now = await circuits.open_circuits(db, session.account_id)
        rows = list(await asyncio.gather(*(_row(db, doc, open_now) for doc in docs)))
    return render(
        request,
        "providers/list.html",
        session=session,
        rows=rows,
        may_change=session.may(Permission.PROVIDERS) and not session.test,
    )


@router.get("/new")
async def choose_type(request: Request, session: Session) -> Response:
    live_only(session)
    require(session, Permission.PROVIDERS)
    types = [(t, forms.TYPE_NAMES[t], forms.TYPE_BLURBS[t]) for t in PLUGINS]
    return render(request, "providers/choose.html", session=session, types=types)


def _form_page(
    request: Request,
    session: ConsoleSession,
    type_: str,
    *,
    doc: ProviderDocument | None,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
) -> Response:
    return render(
        request,
        "providers/form.html",
        session=session,
        status=400 if errors else 200,
        type_=type_,
        type_name=forms.TYPE_NAMES[type_],
        doc=doc,
        secrets_set=set(doc.get("secret_fields") or []) if doc else set(),
        common=forms.common_fields(),
        limits=forms.LIMITS,
        config=forms.config_fields(type_),
        values=values,
        errors=errors or {},
    )


@router.get("/new/{type_}")
async def new_provider_form(type_: str, request: Request, session: Session) -> Response:
    live_only(session)
    require(session, Permission.PROVIDERS)
    return _form_page(request, session, _type_or_404(type_), doc=None, values={})


def _invalid(
    request: Request,
    session: ConsoleSession,
    type_: str,
    doc: ProviderDocument | None,
    form: Form,
    errors: list[dict[str, str]],
) -> Response:
    specs = forms.common_fields() + forms.config_fields(type_)
    values = {**forms.posted_values(form, specs), "is_default": form.has("is_default")}
    return _form_page(
        request, session, type_, doc=doc, values=values, errors=forms.field_errors(errors)
    )


@router.post("/new/{type_}")
async def create_provider(
    type_: str,
    request: Request,
    session: Session,
    form: CheckedForm,
    db: Db,
    cipher: Cipher,
    options: Options,
    cache: Providers,
) -> Response:
    live_only(session)
    require(session, Permission.PROVIDERS)
    type_ = _type_or_404(type_)
    problems: list[dict[str, str]] = []
    try:
        fields = validate_fields(forms.common_input(form))
    except ProviderConfigError as exc:
        problems += exc.errors
    store = AccountProviders(db, cipher, options, cache, session.account_id)
    try:
        # Valid, and pointing only where providers may connect, as for the API.
        checked = await store.checked_config(type_, forms.config_input(form, type_))
    except ProviderConfigError as exc:
        problems += exc.errors
    if problems:
        return _invalid(request, session, type_, None, form, problems)
    try:
        doc = await store.add(fields, type_, checked, default=form.has("is_default"))
    except providers.ProviderNameTaken:
        return _invalid(request, session, type_, None, form, name_taken(fields.name).details)
    return RedirectResponse(
        f"/console/providers?notice=provider-added#{doc['_id']}", status_code=303
    )


async def _owned(db: Database, session: ConsoleSession, provider_id: str) -> ProviderDocument:
    live_only(session)
    return await owned_provider(db, session.account_id, provider_id)


@router.get("/{provider_id}/edit")
async def edit_provider_form(
    provider_id: str, request: Request, session: Session, db: Db
) -> Response:
    require(session, Permission.PROVIDERS)
    doc = await _owned(db, session, provider_id)
    return _form_page(request, session, doc["type"], doc=doc, values=forms.form_values(doc))


@router.post("/{provider_id}/edit")
async def edit_provider(
    provider_id: str,
    request: Request,
    session: Session,
    form: CheckedForm,
    db: Db,
    cipher: Cipher,
    options: Options,
    cache: Providers,
) -> Response:
    require(session, Permission.PROVIDERS)
    doc = await _owned(db, session, provider_id)
    store = AccountProviders(db, cipher, options, cache, session.account_id)
    try:
        fields = validate_fields(forms.common_input(form))
    except ProviderConfigError as exc:
        return _invalid(request, session, doc["type"], doc, form, exc.errors)
    changes = {name: getattr(fields, name) for name in forms.COMMON}
    try:
        await store.update(doc, changes, forms.config_changes(form, doc["type"]))
    except ProviderConfigError as exc:
        return _invalid(request, session, doc["type"], doc, form, exc.errors)
    except providers.ProviderNameTaken:
        taken = name_taken(fields.name).details
        return _invalid(request, session, doc["type"], doc, form, taken)
    return RedirectResponse(
        f"/console/providers?notice=provider-saved#{provider_id}", status_code=303
    )


@router.post("/{provider_id}/test")
async def test_provider(
    provider_id: str,
    session: Session,
    form: CheckedForm,
    db: Db,
    cipher: Cipher,
    options: Options,
) -> Response:
    require(session, Permission.PROVIDERS)
    doc = await _owned(db, session, provider_id)
    await run_check(db, cipher, doc, options)
    return RedirectResponse(
        f"/console/providers?notice=provider-tested#{provider_id}", status_code=303
    )


@router.post("/{provider_id}/default")
async def make_default(
    provider_id: str,
    session: Session,
    form: CheckedForm,
    db: Db,
    cipher: Cipher,
    options: Options,
    cache: Providers,
) -> Response:
    require(session, Permission.PROVIDERS)
    await _owned(db, session, provider_id)
    store = AccountProviders(db, cipher, options, cache, session.account_id)
    await store.make_default(provider_id)
    return RedirectResponse(
        f"/console/providers?notice=provider-default#{provider_id}", status_code=303
    )


@router.get("/{provider_id}/delete")
async def delete_page(provider_id: str, request: Request, session: Session, db: Db) -> Response:
    require(session, Permission.PROVIDERS)
    doc = await _owned(db, session, provider_id)
    return render(request, "providers/delete.html", session=session, view=public_view(doc))


@router.post("/{provider_id}/delete")
async def delete_provider(
    provider_id: str,
    session: Session,
    form: CheckedForm,
    db: Db,
    cipher: Cipher,
    options: Options,
    cache: Providers,
) -> Response:
    require(session, Permission.PROVIDERS)
    await _owned(db, session, provider_id)
    store = AccountProviders(db, cipher, options, cache, session.account_id)
    await store.delete(provider_id)
    return RedirectResponse("/console/providers?notice=provider-deleted", status_code=303)
