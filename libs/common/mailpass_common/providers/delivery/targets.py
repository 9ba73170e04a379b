"""Where a provider would connect, checked when it is saved (REST API and CLI).

The same rules as at connect time (``mailpass_common.platform.egress``), applied early so that a
tenant learns at once, with a 400 naming the field, that ``config.host`` or
``config.base_url`` is out of bounds, instead of reading it later in a failed message.
Connect time remains the guarantee: a name may resolve elsewhere tomorrow, and the
operator's rules may change. A name that does not resolve now is accepted (it reaches
nothing, and a new domain's records may still be on their way).

SES: without its own access keys a provider would send as the platform's AWS identity,
which only the operator may allow (``SES_ALLOW_AMBIENT_CREDENTIALS``).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from mailpass_common.platform.egress import EgressPolicy, EgressRefused
from mailpass_common.providers.config import ProviderConfigError, ValidatedConfig
from mailpass_common.providers.delivery.registry import DeliveryOptions

Problems = list[dict[str, str]]


async def check_targets(type_: str, checked: ValidatedConfig, options: DeliveryOptions) -> None:
    """Raise ProviderConfigError naming each field whose destination the rules refuse."""
    config, egress = checked.config, options.egress
    problems: Problems = []
    if type_ == "smtp":
        port = int(config["port"])
        if not egress.smtp_port_allowed(port):
            problems.append(
                _problem("config.port", f"must be an SMTP port: {egress.smtp_ports_text()}")
            )
        problems += await _address_problems("config.host", str(config["host"]), port, egress)
    elif type_ in ("sendgrid", "mailgun") and config.get("base_url"):
        url = str(config["base_url"])
        refusal = egress.api_url_refusal(type_, url)
        if refusal is not None:
            problems.append(_problem("config.base_url", refusal))
        else:
            parts = urlsplit(url)
            port = parts.port or (443 if parts.scheme == "https" else 80)
            problems += await _address_problems(
                "config.base_url", parts.hostname or "", port, egress
            )
    elif type_ == "ses" and not (
        checked.secrets.get("access_key_id") or options.ses_allow_ambient_credentials
    ):
        problems.append(
            _problem(
                "config.access_key_id",
                "required with secret_access_key: providers send with their own AWS keys, "
                "never with the platform's identity",
            )
        )
    if problems:
        raise ProviderConfigError(problems)


async def _address_problems(field: str, host: str, port: int, egress: EgressPolicy) -> Problems:
    try:
        await egress.resolve(host, port)
    except EgressRefused as exc:
        return [_problem(field, f"refused: {exc}")]
    except (OSError, TimeoutError):
        return []  # does not resolve (yet): nothing to reach; every connect checks again
    return []


def _problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}
