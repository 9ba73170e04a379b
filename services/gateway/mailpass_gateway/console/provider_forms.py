"""The provider forms: their fields made from the API's own models, and a posted form
read back into the API's input, so the console validates exactly as the API does.

Each type's fields come from its config model (``mailpass_common.providers.config``):
its annotations give the input (a checkbox for a boolean, a list for a choice, a number,
a password field for a secret, a text area for a certificate), its descriptions the
help text. Secrets are write-only: the form never shows them; left empty on an edit they
stay as they are, and an optional one can be removed with its "remove" box.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from mailpass_common.platform.db import Document
from mailpass_common.providers.config import CONFIG_MODELS, ProviderFields
from mailpass_gateway.console.forms import Form

TYPE_NAMES = {
    "smtp": "SMTP",
    "ses": "Amazon SES",
    "sendgrid": "SendGrid",
    "mailgun": "Mailgun",
    "mailpass": "MailPass SMTP",
}
TYPE_BLURBS = {
    "smtp": "Any SMTP server or relay: your own, your ISP's, or MailPass's.",
    "ses": "Amazon Simple Email Service (v2 API), with keys or the pod's IAM role.",
    "sendgrid": "Twilio SendGrid's v3 Mail Send API, with an API key.",
    "mailgun": "Mailgun's messages API for one sending domain, with an API key.",
    "mailpass": "MailPass delivers by itself to recipients' mail servers, DKIM-signed, "
    "from your verified sending domains.",
}
LABELS = {
    "name": "Name",
    "from_email": "Default sender address",
    "from_name": "Default sender name",
    "hourly_limit": "Hourly limit",
    "daily_limit": "Daily limit",
    "fallback_priority": "Fallback priority",
    "verify_tls": "Verify the server's TLS certificate",
    "ca_cert": "CA certificate (PEM)",
    "max_connections": "Connections kept open",
    "access_key_id": "Access key ID",
    "secret_access_key": "Secret access key",
    "endpoint_url": "Endpoint URL",
    "base_url": "Base URL",
    "api_key": "API key",
    "timeout": "Timeout (seconds)",
}
COMMON = ("name", "from_email", "from_name", "hourly_limit", "daily_limit", "fallback_priority")
LIMITS = ("hourly_limit", "daily_limit", "fallback_priority")
# Settings most providers never need: folded away under "Advanced settings".
ADVANCED = frozenset(
    {
        "verify_tls",
        "ca_cert",
        "max_connections",
        "endpoint_url",
        "configuration_set",
        "timeout",
        "session_token",
        "base_url",
    }
)


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


def _label(name: str) -> str:
    return LABELS.get(name, name.replace("_", " ").capitalize())


def _fields(
    model: type[BaseModel],
    names: list[str],
    prefix: str,
    secrets: tuple[str, ...],
    files: tuple[str, ...],
) -> list[FieldSpec]:
    found = []
    for name in names:
        info = model.model_fields[name]
        kind, choices = _kind(info.annotation, name in secrets, name in files, name)
        default = None if info.is_required() else info.default
        found.append(
            FieldSpec(
                name=f"{prefix}{name}",
                label=_label(name),
                kind=kind,
                required=info.is_required(),
                help=(info.description or "")[:1].upper() + (info.description or "")[1:],
                choices=choices,
                secret=name in secrets,
                default=default,
                advanced=name in ADVANCED,
            )
        )
    return found


def common_fields() -> list[FieldSpec]:
    return _fields(ProviderFields, list(COMMON), "", (), ())


def config_fields(type_: str) -> list[FieldSpec]:
    model = CONFIG_MODELS[type_]
    return _fields(model, list(model.model_fields), "config.", model.SECRETS, model.FILES)


def form_values(doc: Document | None) -> dict[str, Any]:
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


def summary(doc: Document) -> str:
    """Where a provider sends, in a few words."""
    config = doc.get("config") or {}
    if doc["type"] == "smtp":
        return f"{config.get('host')}:{config.get('port')} ({config.get('security')})"
    if doc["type"] == "ses":
        return f"region {config.get('region')}"
    if doc["type"] == "mailgun":
        return f"domain {config.get('domain')}"
    return str(config.get("base_url") or "api.sendgrid.com")
