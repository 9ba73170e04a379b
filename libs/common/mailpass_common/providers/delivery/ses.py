"""Amazon SES (API v2) delivery through aiobotocore, sending the same MIME as SMTP providers.

``SendEmail`` with ``Content.Raw`` keeps our Message-ID, tracking and headers byte for byte;
the envelope recipients (Bcc included) go in ``Destination``. One client (one connection
pool, one credential resolution) lives as long as the provider. botocore's own retries
are switched off: retries live in RabbitMQ (architecture decision 5), and a client that
slept through its retries would hold a consumer slot and blur the outcome.

Whose AWS identity: the provider's own access keys. Without keys botocore would walk the
default chain (environment, profile, IRSA web identity, instance role) and send as the
*platform*, so a tenant could mail as the operator: that is allowed only when the operator
says so (``SES_ALLOW_AMBIENT_CREDENTIALS``, for single-tenant installations). The endpoint
is AWS's for the region, or the operator's ``SES_ENDPOINT_URL`` (local testing); never a
tenant's, which would receive every signed request, session token included.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any

import botocore.exceptions
from aiobotocore.config import AioConfig
from aiobotocore.session import get_session

from mailpass_common.providers.delivery.base import (
    DeliveryError,
    DeliveryResult,
    OutgoingEmail,
    PermanentDeliveryError,
    TemporaryDeliveryError,
)

if TYPE_CHECKING:
    from mailpass_common.providers.types.ses import SesConfig

DEFAULT_TIMEOUT_SECONDS = 30.0

# Refusals that say "not now" rather than "not this": rate and quota limits reset, a paused
# account ("currently paused", unlike AccountSuspended's "permanently restricted") resumes.
_TEMPORARY_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "LimitExceededException",
        "SendingPausedException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ServiceUnavailable",
        "InternalFailure",
    }
)

# Client-side problems no retry can fix: missing or malformed credentials or parameters.
_PERMANENT_CLIENT_ERRORS: tuple[type[Exception], ...] = (
    botocore.exceptions.NoCredentialsError,
    botocore.exceptions.PartialCredentialsError,
    botocore.exceptions.ParamValidationError,
)


def classify_client_error(exc: botocore.exceptions.ClientError) -> DeliveryError:
    """SES's error code and message become the reply; status and code pick the kind."""
    error = exc.response.get("Error", {})
    code = str(error.get("Code") or "Unknown")
    message = str(error.get("Message") or "").strip()
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    reply = f"SES {code}: {message}" if message else f"SES {code} (HTTP {status})"
    if code in _TEMPORARY_CODES or status == 429 or status >= 500 or status == 0:
        return TemporaryDeliveryError(reply)
    return PermanentDeliveryError(reply)


def _classify_other(exc: Exception) -> DeliveryError:
    if isinstance(exc, botocore.exceptions.ClientError):
        return classify_client_error(exc)
    if isinstance(exc, _PERMANENT_CLIENT_ERRORS):
        return PermanentDeliveryError(f"SES client configuration: {exc}")
    # Connection refused or reset, DNS, TLS, read or connect timeouts, credential refresh
    # failures from the instance metadata service: all worth another try later.
    return TemporaryDeliveryError(f"SES request failed: {exc}")


class SesProvider:
    type = "ses"

    def __init__(
        self,
        config: SesConfig,
        *,
        endpoint_url: str | None = None,
        allow_ambient_credentials: bool = False,
    ) -> None:
        if not config.access_key_id and not allow_ambient_credentials:
            raise ValueError(
                "SES provider has no access keys, and this platform does not lend its own "
                "AWS identity (SES_ALLOW_AMBIENT_CREDENTIALS is off)"
            )
        self._configuration_set = config.configuration_set
        timeout = config.timeout or DEFAULT_TIMEOUT_SECONDS
        self._client_kwargs: dict[str, Any] = {
            "region_name": config.region,
            "config": AioConfig(
                connect_timeout=timeout,
                read_timeout=timeout,
                retries={"total_max_attempts": 1},
            ),
        }
        if endpoint_url:
            self._client_kwargs["endpoint_url"] = endpoint_url
        if config.access_key_id:
            self._client_kwargs["aws_access_key_id"] = config.access_key_id
            self._client_kwargs["aws_secret_access_key"] = config.secret_access_key or ""
            if config.session_token:
                self._client_kwargs["aws_session_token"] = config.session_token
        self._exit_stack: AsyncExitStack | None = None
        self._client: Any = None
        self._opening = asyncio.Lock()

    async def _get_client(self) -> Any:
        if self._client is not None:
            return self._client
        async with self._opening:  # concurrent first sends must not open two clients
            if self._client is None:
                stack = AsyncExitStack()
                creator = get_session().create_client("sesv2", **self._client_kwargs)
                self._client = await stack.enter_async_context(creator)
                self._exit_stack = stack
        return self._client

    async def send(self, email: OutgoingEmail, mime: bytes) -> DeliveryResult:
        destination: dict[str, list[str]] = {"ToAddresses": [email.to]}
        if email.cc:
            destination["CcAddresses"] = list(email.cc)
        if email.bcc:
            destination["BccAddresses"] = list(email.bcc)
        request: dict[str, Any] = {
            "FromEmailAddress": email.from_email,
            "Destination": destination,
            "Content": {"Raw": {"Data": mime}},
        }
        if self._configuration_set:
            request["ConfigurationSetName"] = self._configuration_set
        try:
            client = await self._get_client()
            response = await client.send_email(**request)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise _classify_other(exc) from exc
        except (OSError, TimeoutError) as exc:
            raise TemporaryDeliveryError(f"SES request failed: {exc}") from exc
        message_id = str(response["MessageId"])
        return DeliveryResult(provider_message_id=message_id, reply=f"SES accepted {message_id}")

    async def check(self) -> None:
        """Signs and sends one cheap read: ListEmailIdentities, one item.

        GetAccount would say more (sending enabled, sandbox) but moto does not implement it,
        so nothing here could test it; this needs the ``ses:ListEmailIdentities`` permission.
        """
        try:
            client = await self._get_client()
            await client.list_email_identities(PageSize=1)
        except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
            raise _classify_other(exc) from exc
        except (OSError, TimeoutError) as exc:
            raise TemporaryDeliveryError(f"SES request failed: {exc}") from exc

    async def close(self) -> None:
        stack, self._exit_stack, self._client = self._exit_stack, None, None
        if stack is not None:
            await stack.aclose()
