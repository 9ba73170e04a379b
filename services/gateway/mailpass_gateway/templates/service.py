"""Templates as the API and the console change them, and what both show: a template is
checked before it is stored (it parses; its alias is the account's only one), presented,
and kept parsed, ready to render.

A template version never changes once stored, so its parsed form is kept in process by
``(id, version)``: a batch naming one template parses it once, and so do the requests
after it until the cache turns over.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, NamedTuple

from mailpass_common.audit.record import record
from mailpass_common.platform.db import Database, Document
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.templates import rendering, store
from mailpass_common.templates.rendering import CompiledTemplate, TemplateProblem
from mailpass_common.templates.store import TemplateParts
from mailpass_common.unsubscribe.links import UnsubscribeLink, UnsubscribeSigner, signer_for
from mailpass_gateway.errors import ApiError, validation_error
from mailpass_gateway.settings import GatewaySettings
from mailpass_gateway.templates.models import TemplateSummary, TemplateVersion, TemplateView

UNSUBSCRIBE_URL = "unsubscribe_url"  # given to every template by MailPass
CACHED_TEMPLATES = 256


def problem_error(exc: TemplateProblem, *, what: str = "template") -> ApiError:
    """A template that does not parse or render, as a VALIDATION_ERROR naming the
    variable that is missing or the part that is at fault."""
    if isinstance(exc, rendering.MissingVariable):
        field = f"variables.{exc.name}"
        message = f"required by the template's {exc.part}, and not given"
        return validation_error([{"field": field, "message": message}], what)
    return validation_error([{"field": exc.part, "message": exc.message}], what)


def checked_parts(subject: str, html: str | None, text: str | None) -> TemplateParts:
    """The parts as stored, once they parse; VALIDATION_ERROR otherwise."""
    if not (html or text):
        raise validation_error(
            [{"field": "html, text", "message": "either html or text is required"}]
        )
    try:
        compiled = rendering.compile_template(subject, html, text)
    except TemplateProblem as exc:
        raise problem_error(exc) from exc
    names = [name for name in compiled.variables() if name != UNSUBSCRIBE_URL]
    return TemplateParts(subject=subject, html=html, text=text, variables=names)


class Content(NamedTuple):
    """What a version of a template is made of (at least one of html and text)."""

    subject: str
    html: str | None
    text: str | None


def alias_taken() -> ApiError:
    return validation_error([{"field": "alias", "message": "another template has this alias"}])


async def create_template(
    db: Database, account_id: str, *, name: str, alias: str | None, content: Content
) -> Document:
    """A new template at version 1; VALIDATION_ERROR when it does not parse or its alias
    is taken."""
    parts = checked_parts(*content)
    try:
        doc = await store.create(db, account_id, name=name, alias=alias, parts=parts)
    except store.AliasTaken:
        raise alias_taken() from None
    await _audit(db, account_id, "template.created", doc["_id"], None, doc)
    return doc


def _audit_state(doc: Document | None) -> dict[str, Any] | None:
    """A template as the audit log keeps it: what names it and its version, not its bodies
    (the template keeps its 20 newest versions itself)."""
    if doc is None:
        return None
    return {"id": doc["_id"], **{f: doc.get(f) for f in ("name", "alias", "version", "subject")}}


async def _audit(
    db: Database,
    account_id: str,
    action: str,
    template_id: str,
    before: Document | None,
    after: Document | None,
) -> None:
    await record(
        db,
        account_id=account_id,
        action=action,
        resource_type="template",
        resource_id=template_id,
        before=_audit_state(before),
        after=_audit_state(after),
    )


async def update_template(
    db: Database,
    account_id: str,
    reference: str,
    *,
    name: str | None = None,
    alias: str | None = None,
    content: Content | None = None,
) -> Document:
    """Rename or re-alias the template (by id or alias); new content is a new version.
    NOT_FOUND when there is none, VALIDATION_ERROR as for a new one."""
    parts = None if content is None else checked_parts(*content)
    before = await store.get(db, account_id, reference, summary=True)
    try:
        doc = await store.update(db, account_id, reference, name=name, alias=alias, parts=parts)
    except store.AliasTaken:
        raise alias_taken() from None
    if doc is None:
        raise not_found(reference)
    await _audit(db, account_id, "template.updated", doc["_id"], before, doc)
    return doc


async def delete_template(db: Database, account_id: str, reference: str) -> None:
    """Delete the template (messages it made keep its id and version); NOT_FOUND when
    there is none. Its parsed versions age out of the cache: nothing can name them now."""
    before = await store.get(db, account_id, reference, summary=True)
    if before is None or not await store.delete(db, account_id, before["_id"]):
        raise not_found(reference)
    await _audit(db, account_id, "template.deleted", before["_id"], before, None)


async def owned_template(db: Database, account_id: str, reference: str) -> Document:
    """The account's template by id or alias, else NOT_FOUND."""
    doc = await store.get(db, account_id, reference)
    if doc is None:
        raise not_found(reference)
    return doc


_compiled: OrderedDict[tuple[str, int], CompiledTemplate] = OrderedDict()


def compiled_of(doc: Document) -> CompiledTemplate:
    """The parsed form of the template version ``doc`` holds (cached)."""
    key = (str(doc["_id"]), int(doc["version"]))
    found = _compiled.get(key)
    if found is not None:
        _compiled.move_to_end(key)
        return found
    # Stored templates parsed when they were saved; a failure here is a template saved
    # by an older release with other rules, and is the template's fault all the same.
    compiled = rendering.compile_template(doc["subject"], doc.get("html"), doc.get("text"))
    _compiled[key] = compiled
    while len(_compiled) > CACHED_TEMPLATES:
        _compiled.popitem(last=False)
    return compiled


@dataclass(frozen=True)
class UnsubscribeLinks:
    """Where ``{{ unsubscribe_url }}`` points: the tracker's signed link."""

    signer: UnsubscribeSigner
    base_url: str

    def url(self, account_id: str, message_id: str, recipient: Any) -> str:
        if not isinstance(recipient, str) or not recipient.strip():
            return ""  # no recipient to name yet (a preview, or an invalid `to`)
        try:
            return self.signer.url(
                self.base_url, UnsubscribeLink(account_id, message_id, recipient)
            )
        except ValueError:
            return ""  # beyond a link's limits: the request's validation says why


@functools.lru_cache(maxsize=4)
def _links(secret: str, previous: tuple[str, ...], base_url: str) -> UnsubscribeLinks:
    return UnsubscribeLinks(signer_for(secret, previous), base_url)


def unsubscribe_links(settings: GatewaySettings) -> UnsubscribeLinks:
    return _links(
        settings.secret_key.get_secret_value(),
        settings.previous_secrets(),
        settings.tracker_base_url,
    )


def summary(doc: Document) -> TemplateSummary:
    return TemplateSummary(
        id=doc["_id"],
        name=doc["name"],
        alias=doc.get("alias"),
        version=int(doc["version"]),
        variables=list(doc.get("variables") or []),
        created_at=doc["created_at"],
        updated_at=doc["updated_at"],
    )


def view(doc: Document) -> TemplateView:
    versions = [
        TemplateVersion(
            version=int(v["version"]),
            subject=v["subject"],
            html=v.get("html"),
            text=v.get("text"),
            created_at=v["created_at"],
        )
        for v in reversed(doc.get("versions") or [])
    ]
    return TemplateView(
        **summary(doc).model_dump(),
        subject=doc["subject"],
        html=doc.get("html"),
        text=doc.get("text"),
        versions=versions,
    )


def not_found(reference: str) -> ApiError:
    return ApiError(ErrorCode.NOT_FOUND, "Template not found", {"template_id": reference})
