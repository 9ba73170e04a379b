"""Checking a provider from the API or the CLI: connect and authenticate, send nothing."""

from __future__ import annotations

import asyncio

from mailpass_common.db import Document
from mailpass_common.delivery.base import DeliveryError
from mailpass_common.delivery.registry import DeliveryOptions, build_provider
from mailpass_common.security import CredentialCipher

# A test from the API or CLI has someone waiting: fail faster than a delivery would.
CHECK_TIMEOUT_SECONDS = 15.0
CHECK_OPTIONS = DeliveryOptions(smtp_max_connections=1, smtp_timeout_seconds=CHECK_TIMEOUT_SECONDS)


async def check_connection(doc: Document, cipher: CredentialCipher) -> str | None:
    """Connect and authenticate as the sender would, without sending: None when the
    provider accepts, else its reply (or why it could not be reached)."""
    try:
        provider = build_provider(doc, cipher, CHECK_OPTIONS)
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
