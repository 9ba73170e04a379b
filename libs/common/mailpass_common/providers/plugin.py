"""What a provider type is: one :class:`ProviderPlugin` per type, in a module of its own.

A type (``smtp``, ``ses``, ``sendgrid``, ``mailgun``, ``postmark``, ``resend``...) lives in
``mailpass_common.providers.types.<type>`` and is listed once in
``mailpass_common.providers.registry.PLUGINS``; everything that used to enumerate types reads
that list: config validation (REST API, CLI, console), the API's schema, the console's
forms, the CLI's options, where a provider may connect, event hooks, the sender's factory.

A plugin holds:

- ``config_model``: its settings and credentials, one pydantic model (``TypeConfig``);
  ``SECRETS`` name the fields stored only encrypted. A type may have no fields at all.
- ``build``: the factory. It receives the *typed* config (the stored settings and the
  decrypted secrets, validated once by the model) and the operator's ``DeliveryOptions``.
- ``api_hosts``: the official hosts its ``base_url`` may name (none: it has no base URL).
- ``targets``: more checks of where it would connect, when it is saved (optional).
- ``event_hook``: how its bounce and complaint notifications are verified and read
  (optional: SMTP providers have none, their refusals are seen at RCPT).
- ``accept``: a check of messages before they are accepted for a provider of this type
  (optional), e.g. that the From domain is one the account may send from. It answers an
  :class:`AcceptanceRefused` (an error code, a message, details) per refused sender,
  which the API answers as it is.
- ``form``: what the console's form needs besides the model (name, blurb, labels, which
  fields fold under "Advanced", a one-line summary of a provider).
"""

from __future__ import annotations

import builtins
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from mailpass_common.platform.db import Database
from mailpass_common.platform.egress import EgressPolicy
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.providers.delivery.base import Provider
from mailpass_common.providers.delivery.options import DeliveryOptions
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.providers.type_config import TypeConfig
from mailpass_common.suppressions.service import Suppression

C = TypeVar("C", bound=TypeConfig)

Problems = list[dict[str, str]]  # [{"field": "config.host", "message": ...}]


class AcceptanceRefused(Exception):
    """A message a provider of this type will not take; answered with ``code``."""

    def __init__(self, code: ErrorCode, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


@dataclass(frozen=True)
class Acceptance:
    """Messages about to be accepted for a provider, before anything is stored: one for
    ``/mail/send``, a batch's at once (so a check reads once per distinct sender)."""

    db: Database
    account_id: str
    provider: ProviderDocument
    from_emails: tuple[str, ...]  # the senders of the messages
    sandbox: bool  # test keys' messages: delivered to the sandbox capture, never out


@dataclass
class HookContext:
    """What the gateway lends event hooks: the egress policy for any fetch a verification
    needs, and a per-process place for what a type keeps between calls (keys, caches)."""

    egress: EgressPolicy
    sns_trusted_url_prefixes: tuple[str, ...] = ()
    state: dict[str, Any] = field(default_factory=dict)


class SignatureInvalid(Exception):
    """The notification is not proven to come from the provider (the text says why)."""


class NotificationInvalid(Exception):
    """The notification is not in the provider's documented shape (the text says why)."""


@dataclass(frozen=True)
class HookCall:
    """One notification to an event hook, as it arrived."""

    db: Database
    hook_id: str
    account_id: str
    verification: Mapping[str, Any]  # what the hook was made with (keys, credentials)
    body: bytes
    headers: Mapping[str, str]  # names lower-cased
    context: HookContext


@dataclass(frozen=True)
class EventHook:
    """How a type reports bounces and complaints to its hook URL."""

    # What the hook is made with, each a string kept encrypted: name -> description.
    fields: Mapping[str, str]
    required: tuple[str, ...]
    setup: str  # what to configure on the provider's side, for the API's description
    # Verify (raise SignatureInvalid) and read the suppressions a notification reports.
    read: Callable[[HookCall], Awaitable[list[Suppression]]]


@dataclass(frozen=True)
class ConsoleForm:
    name: str  # "Amazon SES"
    blurb: str  # one line under the type's choice
    labels: Mapping[str, str] = field(default_factory=dict)
    advanced: frozenset[str] = frozenset()  # folded away under "Advanced settings"
    # Where a provider sends, in a few words, from its stored (never secret) config.
    summary: Callable[[Mapping[str, Any]], str] = lambda config: ""


@dataclass(frozen=True)
class ProviderPlugin(Generic[C]):
    type: str
    config_model: builtins.type[C]  # (`type` is the field above)
    build: Callable[[C, DeliveryOptions], Provider]
    form: ConsoleForm
    example: Mapping[str, Any]  # a config, for the API's documentation
    api_hosts: tuple[str, ...] = ()
    targets: Callable[[C, DeliveryOptions], Awaitable[Problems]] | None = None
    event_hook: EventHook | None = None
    # The refusals among the senders (from_email -> refusal); an empty dict takes them all.
    accept: Callable[[Acceptance], Awaitable[dict[str, AcceptanceRefused]]] | None = None
    # Settings that once were per provider and now belong to the operator: refused with
    # a reason when given, dropped from stored configs (name -> reason).
    operator_only: Mapping[str, str] = field(default_factory=dict)

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.config_model.SECRETS

    def typed_config(self, config: Mapping[str, Any], secrets: Mapping[str, Any]) -> C:
        """A stored provider's config as its model, or ValueError saying what is wrong."""
        values = {k: v for k, v in {**config, **secrets}.items() if k not in self.operator_only}
        try:
            return self.config_model.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'config'}: {e['msg']}"
                for e in exc.errors()
            )
            raise ValueError(f"invalid {self.type} config: {problems}") from None

    def provider(
        self, config: Mapping[str, Any], secrets: Mapping[str, Any], options: DeliveryOptions
    ) -> Provider:
        return self.build(self.typed_config(config, secrets), options)
