"""Templates on the Mail Send API: ``template_id`` (or an alias) with ``variables``
instead of ``subject``/``html``/``text``, on ``/send`` and on each batch message (or once
for a whole batch, with ``variables`` per message).

A message is rendered once, when it is accepted, and then is a message like any other:
its rendered subject and bodies pass the same validation as a request that sent them
(one-line subject, sizes, ...), and it keeps which template and version made it
(``template: {id, version}``). Each template a request names is read once and parsed
once (:func:`mailpass_gateway.templates.service.compiled_of`); the renders of a request
share one :class:`~mailpass_common.templates.rendering.RenderBudget` and run in a worker
thread, so a slow template never holds the event loop. ``{{ unsubscribe_url }}`` is the
recipient's signed one-click link for that message.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from mailpass_common.platform.db import Database, Document
from mailpass_common.templates import store
from mailpass_common.templates.rendering import RenderBudget, TemplateProblem
from mailpass_gateway.bodies import validate
from mailpass_gateway.errors import ApiError, validation_error
from mailpass_gateway.mail.models import SendRequest
from mailpass_gateway.templates.service import (
    UNSUBSCRIBE_URL,
    UnsubscribeLinks,
    compiled_of,
    problem_error,
)

CONTENT_FIELDS = ("subject", "html", "text")
MAX_REFERENCE_CHARS = 128


@dataclass(frozen=True)
class TemplatedEntry:
    """A message that names a template: the reference, its variables, and the rest of
    the message's fields as given."""

    reference: str
    variables: dict[str, Any]
    fields: dict[str, Any]


def _refused(field: str, message: str, what: str) -> ApiError:
    return validation_error([{"field": field, "message": message}], what)


def templated(
    entry: Any, default: str | None = None, *, what: str = "request"
) -> TemplatedEntry | None:
    """The entry's template use, None when it names none (and no batch default applies).

    A batch's ``template_id`` applies to the messages that give no content of their own.
    """
    if not isinstance(entry, dict):
        return None
    own = entry.get("template_id")
    if own is None and (default is None or any(entry.get(f) is not None for f in CONTENT_FIELDS)):
        if "variables" in entry:
            raise _refused("variables", "only with a template_id", what)
        return None
    reference = own if own is not None else default
    if not isinstance(reference, str) or not 0 < len(reference) <= MAX_REFERENCE_CHARS:
        raise _refused(
            "template_id", f"a template id or alias, 1-{MAX_REFERENCE_CHARS} chars", what
        )
    given = [f for f in CONTENT_FIELDS if entry.get(f) is not None]
    if given:
        raise _refused(
            ", ".join(given), "a template_id replaces subject, html and text: send either", what
        )
    variables = entry.get("variables", {})
    if not isinstance(variables, dict):
        raise _refused("variables", "must be a JSON object", what)
    fields = {k: v for k, v in entry.items() if k not in ("template_id", "variables")}
    return TemplatedEntry(reference, variables, fields)


async def load(db: Database, account_id: str, reference: str, *, what: str) -> Document:
    doc = await store.get(db, account_id, reference)
    if doc is None:
        raise _refused("template_id", f"no template {reference!r} in this account", what)
    return doc


def _rendered_fields(
    entry: TemplatedEntry,
    doc: Document,
    *,
    account_id: str,
    message_id: str,
    links: UnsubscribeLinks,
    budget: RenderBudget,
    what: str,
) -> dict[str, Any]:
    variables = {
        **entry.variables,
        UNSUBSCRIBE_URL: links.url(account_id, message_id, entry.fields.get("to")),
    }
    try:
        rendered = compiled_of(doc).render(variables, budget)
    except TemplateProblem as exc:
        raise problem_error(exc, what=what) from exc
    return {
        **entry.fields,
        "subject": rendered.subject,
        "html": rendered.html,
        "text": rendered.text,
    }


def reference_of(doc: Document) -> dict[str, Any]:
    """What a message keeps of the template that made it."""
    return {"id": doc["_id"], "version": int(doc["version"])}


async def render_send(
    db: Database,
    account_id: str,
    entry: TemplatedEntry,
    *,
    message_id: str,
    links: UnsubscribeLinks,
) -> tuple[SendRequest, dict[str, Any]]:
    """``/send`` with a template: the request as if its content had been sent."""
    doc = await load(db, account_id, entry.reference, what="request")
    fields = await asyncio.to_thread(
        _rendered_fields,
        entry,
        doc,
        account_id=account_id,
        message_id=message_id,
        links=links,
        budget=RenderBudget(),
        what="request",
    )
    return validate(SendRequest, fields), reference_of(doc)


@dataclass(frozen=True)
class PreparedEntry:
    """A batch message ready for validation: its fields (rendered when it named a
    template), the template it names, or the error that failed it."""

    raw: Any
    template: dict[str, Any] | None = None
    error: ApiError | None = None


async def prepare_batch(
    db: Database,
    account_id: str,
    messages: Sequence[Any],
    *,
    default: str | None,
    message_ids: Sequence[str],
    links: UnsubscribeLinks,
) -> list[PreparedEntry]:
    """Render the batch's templated messages (each template read and parsed once)."""
    uses: list[TemplatedEntry | ApiError | None] = []
    for raw in messages:
        try:
            uses.append(templated(raw, default, what="message"))
        except ApiError as exc:
            uses.append(exc)
    docs: dict[str, Document | ApiError] = {}
    for use in uses:
        if isinstance(use, TemplatedEntry) and use.reference not in docs:
            try:
                docs[use.reference] = await load(db, account_id, use.reference, what="message")
            except ApiError as exc:
                docs[use.reference] = exc
    if not docs:
        return [
            PreparedEntry(raw, error=use if isinstance(use, ApiError) else None)
            for raw, use in zip(messages, uses, strict=True)
        ]

    def render_all() -> list[PreparedEntry]:
        budget = RenderBudget()
        prepared = []
        for raw, use, message_id in zip(messages, uses, message_ids, strict=True):
            if use is None:
                prepared.append(PreparedEntry(raw))
                continue
            if isinstance(use, ApiError):
                prepared.append(PreparedEntry(raw, error=use))
                continue
            doc = docs[use.reference]
            if isinstance(doc, ApiError):
                prepared.append(PreparedEntry(raw, error=doc))
                continue
            try:
                fields = _rendered_fields(
                    use,
                    doc,
                    account_id=account_id,
                    message_id=message_id,
                    links=links,
                    budget=budget,
                    what="message",
                )
            except ApiError as exc:
                prepared.append(PreparedEntry(raw, error=exc))
            else:
                prepared.append(PreparedEntry(fields, template=reference_of(doc)))
        return prepared

    return await asyncio.to_thread(render_all)
