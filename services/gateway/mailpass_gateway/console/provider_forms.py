"""The provider forms: their fields made from the API's own models, and a posted form
read back into the API's input, so the console validates exactly as the API does.

Each type's fields come from its plugin's config model (``mailpass_common.providers.types``):
its annotations give the input (a checkbox for a boolean, a list for a choice, a number,
a password field for a secret, a text area for a certificate), its descriptions the
help text. Secrets are write-only: the form never shows them; left empty on an edit they
stay as they are, and an optional one can be removed with its "remove" box.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from mailpass_common.providers.config import ProviderFields
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.providers.registry import PLUGINS
from mailpass_gateway.console.forms import Form

TYPE_NAMES = {type_: plugin.form.name for type_, plugin in PLUGINS.items()}
TYPE_BLURBS = {type_: plugin.form.blurb for type_, plugin in PLUGINS.items()}
LABELS = {
    "name": "Name",
    "from_email": "Default sender address",
    "from_name": "Default sender name",
    "hourly_limit": "Hourly limit",
    "daily_limit": "Daily limit",
    "fallback_priority": "Fallback priority",
    "base_url": "Base URL",
    "api_key": "API key",
    "timeout": "Timeout (seconds)",
}
COMMON = ("name", "from_email", "from_name", "hourly_limit", "daily_limit", "fallback_priority")
LIMITS = ("hourly_limit", "daily_limit", "fallback_priority")


@dataclass(frozen=True)
class FieldSpec:
    name: str  # the form field: "name", or "config.host"
    label: str
    kind: str  # text | email | number | password | select | checkbox | textarea
    required: bool
    help: str
    choices: tuple[str, ...] = ()
    secret: bool = False
    default: Any = None
    advanced: bool = False

    @property
    def key(self) -> str:
        """The field's name in the API's input (``host`` for ``config.host``)."""
        return self.name.removeprefix("config.")


def _base(annotation: Any) -> Any:
    """The type under Optional and Annotated: int, bool, str, float or a Literal."""
    while True:
        origin = typing.get_origin(annotation)
        if origin in (typing.Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        elif origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        else:
            return annotation


def _kind(annotation: Any, secret: bool, long_text: bool, name: str) -> tuple[str, tuple[str, ...]]:
    base = _base(annotation)
    if typing.get_origin(base) is typing.Literal:
        return "select", tuple(str(choice) for choice in typing.get_args(base))
    if secret:
        return "password", ()
    if long_text:
        return "textarea", ()
    if base is bool:
        return "checkbox", ()
    if base in (int, float):
        return "number", ()
    return ("email" if name == "from_email" else "text"), ()


def _label(name: str, labels: Mapping[str, str]) -> str:
    return labels.get(name) or LABELS.get(name, name.replace("_", " ").capitalize())


def _fields(
    model: type[BaseModel],
    names: list[str],
    prefix: str,
    secrets: tuple[str, ...],
    files: tuple[str, ...],
    labels: Mapping[str, str] = {},
    advanced: frozenset[str] = frozenset(),
) -> list[FieldSpec]:
    found = []
    for name in names:
        info = model.model_fields[name]
        kind, choices = _kind(info.annotation, name in secrets, name in files, name)
        default = None if info.is_required() else info.default
        found.append(
            FieldSpec(
                name=f"{prefix}{name}",
                label=_label(name, labels),
                kind=kind,
                required=info.is_required(),
                help=(info.description or "")[:1].upper() + (info.description or "")[1:],
                choices=choices,
                secret=name in secrets,
                default=default,
                advanced=name in advanced,
            )
        )
    return found


def common_fields() -> list[FieldSpec]:
    return _fields(ProviderFields, list(COMMON), "", (), ())


def config_fields(type_: str) -> list[FieldSpec]:
    plugin = PLUGINS[type_]
    model, form = plugin.config_model, plugin.form
    names = list(model.model_fields)
    return _fields(model, names, "config.", model.SECRETS, model.FILES, form.labels, form.advanced)


def form_values(doc: ProviderDocument | None) -> dict[str, Any]:
    """What an edit form shows: the stored values, never a secret."""
    if doc is None:
        return {}
    values = {name: doc.get(name) for name in COMMON}
    for key, value in (doc.get("config") or {}).items():
        values[f"config.{key}"] = value
    return values


def posted_values(form: Form, specs: list[FieldSpec]) -> dict[str, Any]:
    """The form's values as typed (for showing the form again after an error)."""
    values: dict[str, Any] = {}
    for spec in specs:
        if spec.secret:
            continue
        values[spec.name] = form.has(spec.name) if spec.kind == "checkbox" else form.get(spec.name)
    return values


def common_input(form: Form) -> dict[str, Any]:
    """The common fields as the API takes them: a blank optional field is absent."""
    return {name: form.get(name) for name in COMMON if form.get(name) != ""}


def config_input(form: Form, type_: str) -> dict[str, Any]:
    """A new provider's config: what was filled in (checkboxes are always an answer)."""
    found: dict[str, Any] = {}
    for spec in config_fields(type_):
        key = spec.name.removeprefix("config.")
        if spec.kind == "checkbox":
            found[key] = form.has(spec.name)
        elif form.get(spec.name) != "":
            found[key] = form.get(spec.name)
    return found


def config_changes(form: Form, type_: str) -> dict[str, Any]:
    """An edit's config: each plain field replaces the stored one (blank removes it, back
    to its default); a blank secret stays as it is, and "remove" removes it."""
    changes: dict[str, Any] = {}
    for spec in config_fields(type_):
        key = spec.name.removeprefix("config.")
        if spec.secret:
            if form.get(spec.name) != "":
                changes[key] = form.get(spec.name)
            elif form.has(f"remove.{key}"):
                changes[key] = None
        elif spec.kind == "checkbox":
            changes[key] = form.has(spec.name)
        else:
            changes[key] = form.get(spec.name) or None
    return changes


def field_errors(details: list[dict[str, str]]) -> dict[str, str]:
    """The API's ``[{"field", "message"}]`` as one message per form field."""
    errors: dict[str, str] = {}
    for detail in details:
        field = detail.get("field") or "form"
        errors.setdefault(field if field != "config" else "form", detail.get("message", ""))
    return errors


def summary(doc: ProviderDocument) -> str:
    """Where a provider sends, in a few words."""
    plugin = PLUGINS.get(doc["type"])
    return plugin.form.summary(doc.get("config") or {}) if plugin else ""
