"""The provider types there are, and what the REST API, the CLI and the console do with a
type's config: validate it, merge a partial update, check where it would connect, show it.

Adding a type: a module in ``providers/types/`` exporting its ``PLUGIN``, one line in
``PLUGINS`` below, its tests, and a line of docs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pydantic import ValidationError

from mailpass_common.providers.config import (
    ProviderConfigError,
    ValidatedConfig,
    config_errors,
    last_check,
    secret_fields,
)
from mailpass_common.providers.delivery.options import DeliveryOptions
from mailpass_common.providers.delivery.targets import address_problems, problem
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.providers.plugin import Acceptance, AcceptanceRefused, Problems, ProviderPlugin
from mailpass_common.providers.types import mailgun, mailpass, postmark, resend, sendgrid, ses, smtp

PLUGINS: dict[str, ProviderPlugin[Any]] = {
    plugin.type: plugin
    for plugin in (
        smtp.PLUGIN,
        ses.PLUGIN,
        sendgrid.PLUGIN,
        mailgun.PLUGIN,
        mailpass.PLUGIN,
        postmark.PLUGIN,
        resend.PLUGIN,
    )
}
PROVIDER_TYPES = tuple(PLUGINS)


def plugin_of(type_: str) -> ProviderPlugin[Any]:
    """The plugin of a stored provider's type; LookupError for a type no longer known."""
    plugin = PLUGINS.get(type_)
    if plugin is None:
        raise LookupError(f"provider type {type_!r} is not supported")
    return plugin


def hook_types() -> tuple[str, ...]:
    """The types whose providers report bounces and complaints to an event hook."""
    return tuple(t for t, p in PLUGINS.items() if p.event_hook is not None)


def _type_error() -> ProviderConfigError:
    return ProviderConfigError(
        [{"field": "type", "message": f"must be one of {', '.join(PROVIDER_TYPES)}"}]
    )


def validate_config(
    type_: str, values: Mapping[str, Any], *, prefix: str = "config"
) -> ValidatedConfig:
    """Check a complete config of ``type_`` and split it into plain settings and secrets."""
    plugin = PLUGINS.get(type_)
    if plugin is None:
        raise _type_error()
    operator_only = [
        {"field": f"{prefix}.{name}", "message": reason}
        for name, reason in plugin.operator_only.items()
        if name in values
    ]
    if operator_only:
        raise ProviderConfigError(operator_only)
    try:
        checked = plugin.config_model.model_validate(dict(values))
    except ValidationError as exc:
        raise ProviderConfigError(config_errors(exc, prefix)) from exc
    data = checked.model_dump(exclude_none=True)
    secrets = {k: data.pop(k) for k in plugin.secrets if k in data}
    return ValidatedConfig(config=data, secrets=secrets)


def merge_config(
    type_: str, config: Mapping[str, Any], secrets: Mapping[str, Any], changes: Mapping[str, Any]
) -> ValidatedConfig:
    """The config after a partial update: given keys replace, ``None`` removes a key."""
    retired = PLUGINS[type_].operator_only if type_ in PLUGINS else {}
    merged = {k: v for k, v in {**config, **secrets}.items() if k not in retired}
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return validate_config(type_, merged)


async def check_targets(type_: str, checked: ValidatedConfig, options: DeliveryOptions) -> None:
    """Where a provider would connect, checked when it is saved (REST API, CLI, console):
    raise ProviderConfigError naming each field whose destination the rules refuse."""
    plugin = PLUGINS.get(type_)
    if plugin is None:
        raise _type_error()
    problems: Problems = []
    base_url = checked.config.get("base_url")
    if plugin.api_hosts and base_url:
        problems += await _api_url_problems(plugin, str(base_url), options)
    if plugin.targets is not None:
        typed = plugin.typed_config(checked.config, checked.secrets)
        problems += await plugin.targets(typed, options)
    if problems:
        raise ProviderConfigError(problems)


async def _api_url_problems(
    plugin: ProviderPlugin[Any], url: str, options: DeliveryOptions
) -> Problems:
    refusal = options.egress.api_url_refusal(plugin.api_hosts, url)
    if refusal is not None:
        return [problem("config.base_url", refusal)]
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return await address_problems("config.base_url", parts.hostname or "", port, options.egress)


async def refused_senders(acceptance: Acceptance) -> dict[str, AcceptanceRefused]:
    """The provider type's own check of messages before they are accepted (most types have
    none): the refusal of each sender it will not take."""
    plugin = PLUGINS.get(str(acceptance.provider.get("type")))
    if plugin is None or plugin.accept is None:
        return {}
    return await plugin.accept(acceptance)


def public_view(doc: ProviderDocument) -> dict[str, Any]:
    """A provider document as the API and CLI show it: never a secret, only ``has_*``."""
    config = dict(doc.get("config") or {})
    plugin = PLUGINS.get(doc["type"])
    present = set(secret_fields(doc))
    for name in plugin.secrets if plugin else ():
        config[f"has_{name}"] = name in present
    return {
        "id": doc["_id"],
        "name": doc["name"],
        "type": doc["type"],
        # bool(): nx-27017 returns a boolean written by $set as 0/1.
        "is_default": bool(doc.get("is_default")),
        "config": config,
        "from_email": doc.get("from_email"),
        "from_name": doc.get("from_name"),
        "hourly_limit": doc.get("hourly_limit"),
        "daily_limit": doc.get("daily_limit"),
        "fallback_priority": doc.get("fallback_priority"),
        "version": int(doc.get("version") or 1),
        "created_at": doc.get("created_at"),
        "updated_at": doc.get("updated_at") or doc.get("created_at"),
        "last_check": last_check(doc),
    }
