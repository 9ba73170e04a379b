"""``ses``: Amazon SES (API v2), the same MIME as SMTP providers, bounces through SNS.

Event hook: SES publishes bounces and complaints to an SNS topic (the configuration set's
notifications), which the hook URL subscribes to over HTTPS. Each SNS message is verified
(:mod:`mailpass_common.providers.sns`); a subscription confirmation is confirmed; only
``Permanent`` bounces and complaints suppress.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, model_validator

from mailpass_common.providers import notifications
from mailpass_common.providers.delivery.options import DeliveryOptions
from mailpass_common.providers.delivery.ses import SesProvider
from mailpass_common.providers.delivery.targets import problem
from mailpass_common.providers.notifications import entry, message_id, obj, objects
from mailpass_common.providers.plugin import (
    ConsoleForm,
    EventHook,
    HookCall,
    Problems,
    ProviderPlugin,
    SignatureInvalid,
)
from mailpass_common.providers.sns import SnsVerifier
from mailpass_common.providers.type_config import Region, Secret, Timeout, TypeConfig
from mailpass_common.suppressions.service import Suppression, SuppressionReason


class SesConfig(TypeConfig):
    # Keys are required unless the operator lends the platform's own AWS identity
    # (SES_ALLOW_AMBIENT_CREDENTIALS, see targets); the endpoint is the operator's too
    # (SES_ENDPOINT_URL): see the plugin's operator_only.
    SECRETS = ("access_key_id", "secret_access_key", "session_token")
    region: Region = Field(description="e.g. eu-west-1")
    configuration_set: Annotated[str, Field(min_length=1, max_length=64)] | None = Field(
        None, description="SES configuration set for event publishing"
    )
    timeout: Timeout | None = Field(None, description="request timeout in seconds")
    access_key_id: Secret | None = Field(None, description="AWS access key id")
    secret_access_key: Secret | None = Field(None, description="AWS secret access key")
    session_token: Secret | None = Field(None, description="AWS session token (temporary keys)")

    @model_validator(mode="after")
    def _paired_keys(self) -> SesConfig:
        if (self.access_key_id is None) != (self.secret_access_key is None):
            raise ValueError("access_key_id and secret_access_key go together")
        return self


def build(config: SesConfig, options: DeliveryOptions) -> SesProvider:
    return SesProvider(
        config,
        endpoint_url=options.ses_endpoint_url,
        allow_ambient_credentials=options.ses_allow_ambient_credentials,
    )


async def targets(config: SesConfig, options: DeliveryOptions) -> Problems:
    if config.access_key_id or options.ses_allow_ambient_credentials:
        return []
    return [
        problem(
            "config.access_key_id",
            "required with secret_access_key: providers send with their own AWS keys, "
            "never with the platform's identity",
        )
    ]


def parse(account_id: str, message: str) -> list[Suppression]:
    """An SES notification (the SNS ``Message``): notification or event-publishing form."""
    try:
        body = json.loads(message)
    except ValueError:
        return []
    if not isinstance(body, dict):
        return []
    kind = body.get("notificationType") or body.get("eventType")
    mail = obj(body.get("mail"))
    mid = message_id(obj(mail.get("commonHeaders")).get("messageId"))
    found: list[Suppression | None] = []
    if kind == "Bounce":
        bounce = obj(body.get("bounce"))
        if bounce.get("bounceType") != "Permanent":
            return []
        for r in objects(bounce.get("bouncedRecipients")):
            detail = r.get("diagnosticCode") or bounce.get("bounceSubType")
            found.append(
                entry(
                    account_id, "ses", r.get("emailAddress"), SuppressionReason.BOUNCE, detail, mid
                )
            )
    elif kind == "Complaint":
        complaint = obj(body.get("complaint"))
        detail = complaint.get("complaintFeedbackType") or "complaint"
        for r in objects(complaint.get("complainedRecipients")):
            found.append(
                entry(
                    account_id,
                    "ses",
                    r.get("emailAddress"),
                    SuppressionReason.COMPLAINT,
                    detail,
                    mid,
                )
            )
    return notifications.found(found)


async def read(call: HookCall) -> list[Suppression]:
    body = notifications.json_object(call.body)
    verifier = call.context.state.get("sns")
    if verifier is None:
        verifier = SnsVerifier(call.context.egress, call.context.sns_trusted_url_prefixes)
        call.context.state["sns"] = verifier
    await verifier.verify(body)
    topic = call.verification.get("topic_arn")
    if topic and body.get("TopicArn") != topic:
        raise SignatureInvalid("the notification comes from another SNS topic")
    if body.get("Type") == "SubscriptionConfirmation":
        await verifier.confirm_subscription(body)
        return []
    if body.get("Type") != "Notification":
        return []
    return parse(call.account_id, str(body.get("Message", "")))


def summary(config: Mapping[str, Any]) -> str:
    return f"region {config.get('region')}"


PLUGIN = ProviderPlugin(
    type="ses",
    config_model=SesConfig,
    build=build,
    targets=targets,
    example={"region": "eu-west-1", "access_key_id": "AKIA...", "secret_access_key": "..."},
    event_hook=EventHook(
        fields={"topic_arn": "SES: only accept this SNS topic (optional)"},
        required=(),
        setup="SES: subscribe the path to the SNS topic of the configuration set's bounce "
        "and complaint notifications (HTTPS).",
        read=read,
    ),
    operator_only={
        "endpoint_url": "set by the operator for every SES provider (SES_ENDPOINT_URL), "
        "never per provider: the endpoint receives the signed requests",
    },
    form=ConsoleForm(
        name="Amazon SES",
        blurb="Amazon Simple Email Service (v2 API), with keys or the pod's IAM role.",
        labels={
            "access_key_id": "Access key ID",
            "secret_access_key": "Secret access key",
            "endpoint_url": "Endpoint URL",
        },
        advanced=frozenset({"configuration_set", "timeout", "session_token"}),
        summary=summary,
    ),
)
