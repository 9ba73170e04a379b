"""Amazon SNS message signatures: how SES bounce and complaint notifications are proven.

The message is signed with the key of an X.509 certificate SNS names in
``SigningCertURL`` (``SignatureVersion`` 1: SHA1withRSA, 2: SHA256withRSA) over the
message's fields in SNS's documented order. The certificate is fetched only from
``https://sns.<region>.amazonaws.com/…pem`` (or a prefix the operator trusts,
``SNS_TRUSTED_URL_PREFIXES``: how the tests use a certificate of their own), through the
egress policy, and kept for an hour. ``SubscribeURL`` is held to the same rule. The
signed ``Timestamp`` must be fresh. Whatever fails on the way (an unreachable or malformed
certificate URL, a certificate that does not parse) is a notification not proven,
``SignatureInvalid`` (401), never an error of ours.
"""

from __future__ import annotations

import base64
import re
import time
import urllib.parse
from typing import Any

import httpx
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mailpass_common.platform.egress import EgressPolicy, EgressRefused
from mailpass_common.providers.delivery.egress_http import egress_client
from mailpass_common.providers.notifications import fresh_iso
from mailpass_common.providers.plugin import SignatureInvalid

CERT_TTL_SECONDS = 3600
_SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")
_SIGNED_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SIGNED_FIELDS["UnsubscribeConfirmation"] = _SIGNED_FIELDS["SubscriptionConfirmation"]


def sns_string_to_sign(message: dict[str, Any]) -> bytes:
    fields = _SIGNED_FIELDS.get(str(message.get("Type")))
    if fields is None:
        raise SignatureInvalid(f"unknown SNS message type {message.get('Type')!r}")
    lines = []
    for name in fields:
        if name in message and message[name] is not None:
            lines += [name, str(message[name])]
    return ("\n".join(lines) + "\n").encode()


class SnsVerifier:
    def __init__(self, policy: EgressPolicy, trusted_prefixes: tuple[str, ...]) -> None:
        self._policy = policy
        self._trusted = tuple(trusted_prefixes)
        self._certificates: dict[str, tuple[float, rsa.RSAPublicKey]] = {}

    def trusted_url(self, url: str) -> bool:
        if any(url.startswith(prefix) for prefix in self._trusted):
            return True
        try:
            parts = urllib.parse.urlsplit(url)
            host = parts.hostname or ""
        except ValueError:
            return False
        return parts.scheme == "https" and bool(_SNS_HOST.match(host))

    async def _get(self, url: str) -> bytes:
        if not self.trusted_url(url):
            raise SignatureInvalid("the URL is not an SNS endpoint on amazonaws.com")
        try:
            async with egress_client(self._policy, timeout=10.0) as client:
                response = await client.get(url)
        except (httpx.HTTPError, EgressRefused, OSError, ValueError) as exc:
            raise SignatureInvalid(f"{url} could not be fetched: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise SignatureInvalid(f"{url} answered {response.status_code}")
        return response.content

    async def _key(self, url: str) -> rsa.RSAPublicKey:
        cached = self._certificates.get(url)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        if not self.trusted_url(url) or not urllib.parse.urlsplit(url).path.endswith(".pem"):
            raise SignatureInvalid("the signing certificate URL is not an SNS .pem")
        try:
            certificate = x509.load_pem_x509_certificate(await self._get(url))
            key = certificate.public_key()
        except ValueError as exc:
            raise SignatureInvalid("the signing certificate does not parse") from exc
        if not isinstance(key, rsa.RSAPublicKey):
            raise SignatureInvalid("the signing certificate has no RSA key")
        if len(self._certificates) > 64:
            self._certificates.clear()
        self._certificates[url] = (time.monotonic() + CERT_TTL_SECONDS, key)
        return key

    async def verify(self, message: dict[str, Any]) -> None:
        version = str(message.get("SignatureVersion"))
        digest = {"1": hashes.SHA1(), "2": hashes.SHA256()}.get(version)
        if digest is None:
            raise SignatureInvalid(f"unknown SignatureVersion {version!r}")
        fresh_iso(message.get("Timestamp"))
        key = await self._key(str(message.get("SigningCertURL", "")))
        try:
            signature = base64.b64decode(str(message.get("Signature", "")))
            key.verify(signature, sns_string_to_sign(message), padding.PKCS1v15(), digest)
        except (InvalidSignature, ValueError) as exc:
            raise SignatureInvalid("the SNS signature does not verify") from exc

    async def confirm_subscription(self, message: dict[str, Any]) -> None:
        """Visit ``SubscribeURL`` (once verified): SNS starts delivering notifications."""
        await self._get(str(message.get("SubscribeURL", "")))
