"""Where a provider would connect, checked when it is saved (REST API, CLI, console):
the pieces each type's plugin uses (``mailpass_common.providers.registry.check_targets``).

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

from mailpass_common.platform.egress import EgressPolicy, EgressRefused

Problems = list[dict[str, str]]


async def address_problems(field: str, host: str, port: int, egress: EgressPolicy) -> Problems:
    try:
        await egress.resolve(host, port)
    except EgressRefused as exc:
        return [problem(field, f"refused: {exc}")]
    except (OSError, TimeoutError):
        return []  # does not resolve (yet): nothing to reach; every connect checks again
    return []


def problem(field: str, message: str) -> dict[str, str]:
    return {"field": field, "message": message}
