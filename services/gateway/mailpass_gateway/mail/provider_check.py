"""The provider type's own check of messages before they are accepted (most types have none).

A type's plugin may refuse senders for its providers (``ProviderPlugin.accept``), e.g.
MailPass's own delivery refusing a From domain the account has not verified (422
DOMAIN_NOT_VERIFIED); the refusal carries its error code and is answered as it is (a
batch lists it for each message it concerns). A batch is checked once for all its senders.
"""

from __future__ import annotations

from collections.abc import Iterable

from mailpass_common.acceptance import service as acceptance
from mailpass_common.platform.db import Database
from mailpass_common.providers.models import ProviderDocument
from mailpass_common.tenants.api_keys import ApiKeyRecord
from mailpass_gateway.errors import ApiError, api_error


async def refusals(
    db: Database, key: ApiKeyRecord, provider: ProviderDocument, from_emails: Iterable[str]
) -> dict[str, ApiError]:
    """The senders among ``from_emails`` the provider's type refuses, as API errors."""
    refused = await acceptance.refused_senders(db, key, provider, from_emails)
    return {address: api_error(r) for address, r in refused.items()}


async def accepted_by_provider(
    db: Database, key: ApiKeyRecord, provider: ProviderDocument, from_email: str
) -> None:
    """Raise the type's refusal of this sender; return when the type takes the message."""
    refused = await refusals(db, key, provider, [from_email])
    if from_email in refused:
        raise refused[from_email]
