"""Checking a provider from the API or the CLI: connect and authenticate, send nothing.

The check connects exactly as the sender would, through the same egress policy, so it
answers for what delivery will do; its answer is the provider's reply as delivery errors
carry it (SMTP reply lines, API error messages), never raw bytes of whatever answered.
"""

from __future__ import annotations

import asyncio

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.settings import CommonSettings
from mailpass_common.providers.delivery.base import DeliveryError
from mailpass_common.providers.delivery.options import DeliveryOptions, delivery_options
from mailpass_common.providers.delivery.pool import build_provider
from mailpass_common.providers.models import ProviderDocument

# A test from the API or CLI has someone waiting: fail faster than a delivery would.
CHECK_TIMEOUT_SECONDS = 15.0


def check_options(settings: CommonSettings) -> DeliveryOptions:
    """One connection, a short timeout, and the operator's provider rules."""
    return delivery_options(
        settings, smtp_max_connections=1, smtp_timeout_seconds=CHECK_TIMEOUT_SECONDS
    )


async def check_connection(
    doc: ProviderDocument, cipher: CredentialCipher, options: DeliveryOptions
) -> str | None:
    """Connect and authenticate as the sender would, without sending: None when the
    provider accepts, else its reply (or why it could not be reached)."""
    try:
        provider = build_provider(doc, cipher, options)
    except (LookupError, ValueError, DeliveryError) as exc:  # unsupported, undecryptable
        return getattr(exc, "reply", None) or str(exc)
    try:
        async with asyncio.timeout(CHECK_TIMEOUT_SECONDS + 5):
            await provider.check()
    except DeliveryError as exc:
        return exc.reply
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_SECONDS:.0f} seconds"
    finally:
        await provider.close()
    return None
