"""Providers built as their type's plugin builds them: the typed config from a config and
its secrets (the way they are stored), then the provider with the given options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mailpass_common.platform.egress import EgressPolicy
from mailpass_common.providers.delivery.mailgun import MailgunProvider
from mailpass_common.providers.delivery.options import STRICT_EGRESS
from mailpass_common.providers.delivery.sendgrid import SendGridProvider
from mailpass_common.providers.delivery.ses import SesProvider
from mailpass_common.providers.delivery.smtp import SmtpProvider
from mailpass_common.providers.types import mailgun, sendgrid
from mailpass_common.providers.types.ses import SesConfig
from mailpass_common.providers.types.smtp import SmtpConfig

NO_SECRETS: Mapping[str, Any] = {}


def smtp_provider(
    config: Mapping[str, Any], secrets: Mapping[str, Any] = NO_SECRETS, **options: Any
) -> SmtpProvider:
    return SmtpProvider(SmtpConfig.model_validate({**config, **secrets}), **options)


def ses_provider(
    config: Mapping[str, Any], secrets: Mapping[str, Any] = NO_SECRETS, **options: Any
) -> SesProvider:
    return SesProvider(SesConfig.model_validate({**config, **secrets}), **options)


def sendgrid_provider(
    config: Mapping[str, Any], secrets: Mapping[str, Any], *, egress: EgressPolicy = STRICT_EGRESS
) -> SendGridProvider:
    typed = sendgrid.SendgridConfig.model_validate({**config, **secrets})
    return SendGridProvider(typed, egress=egress, api_hosts=sendgrid.API_HOSTS)


def mailgun_provider(
    config: Mapping[str, Any], secrets: Mapping[str, Any], *, egress: EgressPolicy = STRICT_EGRESS
) -> MailgunProvider:
    typed = mailgun.MailgunConfig.model_validate({**config, **secrets})
    return MailgunProvider(typed, egress=egress, api_hosts=mailgun.API_HOSTS)
