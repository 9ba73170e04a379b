"""The console as an OpenID Connect relying party: discovery, the authorization code flow
with PKCE, and the ID token's checks.

- **Discovery** (``<issuer>/.well-known/openid-configuration``) is read once an hour and
  validated by Authlib (``OpenIDProviderMetadata``): the issuer it names must be the one
  configured, and its endpoints https (http only with ``ENVIRONMENT=development``).
- **The flow** sends the browser to the provider with ``state`` (ties the answer to the
  browser that asked), ``nonce`` (ties the ID token to this flow) and an S256 PKCE
  challenge; the code comes back once and is exchanged with the client's secret
  (``client_secret_basic``) and the PKCE verifier.
- **The ID token** is verified with joserfc (Authlib's JOSE successor): the signature
  against the provider's published keys (fetched again once when a key id is unknown, so
  a key rotation needs no restart), an asymmetric algorithm only, ``iss``, ``aud`` (and
  ``azp`` when there are several audiences), ``exp``/``iat`` within a minute's leeway,
  and the ``nonce``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import httpx
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from mailpass_common.platform.settings import DEVELOPMENT
from mailpass_gateway.settings import GatewaySettings

DISCOVERY_SECONDS = 3600
LEEWAY_SECONDS = 60
ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA")


class OidcError(Exception):
    """The provider could not be used, or its answer does not verify (the reason, for logs
    and the sign-in page)."""


@dataclass(frozen=True)
class Flow:
    """What a sign-in keeps between the redirect and the callback."""

    state: str
    nonce: str
    code_verifier: str


class OidcClient:
    def __init__(self, settings: GatewaySettings) -> None:
        self.issuer = settings.console_oidc_issuer  # compared exactly, as OIDC requires
        self.client_id = settings.console_oidc_client_id
        secret = settings.console_oidc_client_secret
        self._secret = secret.get_secret_value() if secret else ""
        self.scopes = settings.console_oidc_scopes
        self._insecure_ok = settings.environment == DEVELOPMENT
        self._metadata: dict[str, Any] | None = None
        self._metadata_at = 0.0
        self._keys: KeySet | None = None

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.get(url, headers={"Accept": "application/json"})
                response.raise_for_status()
                data: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"the identity provider did not answer {url}: {exc}") from exc
        return data

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None or time.monotonic() - self._metadata_at > DISCOVERY_SECONDS:
            data = await self._get_json(
                f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
            )
            found = OpenIDProviderMetadata(data)
            try:
                found.validate()
            except ValueError as exc:
                if not (self._insecure_ok and "https" in str(exc)):
                    raise OidcError(f"the discovery document is refused: {exc}") from exc
            if data.get("issuer") != self.issuer:
                raise OidcError("the discovery document names another issuer")
            self._metadata, self._metadata_at = data, time.monotonic()
        return self._metadata

    async def authorization_url(self, flow: Flow, redirect_uri: str) -> str:
        endpoint = str((await self.metadata())["authorization_endpoint"])
        params = [
            ("response_type", "code"),
            ("client_id", self.client_id),
            ("redirect_uri", redirect_uri),
            ("scope", self.scopes),
            ("state", flow.state),
            ("nonce", flow.nonce),
            ("code_challenge", create_s256_code_challenge(flow.code_verifier)),
            ("code_challenge_method", "S256"),
        ]
        return str(add_params_to_uri(endpoint, params))

    async def exchange(self, code: str, redirect_uri: str, flow: Flow) -> dict[str, Any]:
        """The ID token's verified claims for an authorization code."""
        endpoint = str((await self.metadata())["token_endpoint"])
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri,
            "code_verifier": flow.code_verifier,
        }
        try:
            async with httpx.AsyncClient(timeout=10) as client:
                response = await client.post(
                    endpoint, data=form, auth=(self.client_id, self._secret)
                )
            tokens: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise OidcError(f"the token endpoint did not answer: {exc}") from exc
        if response.status_code != 200 or "id_token" not in tokens:
            raise OidcError(f"the code was refused: {tokens.get('error', response.status_code)}")
        return await self.verify_id_token(str(tokens["id_token"]), flow.nonce)

    async def _key_set(self, refresh: bool = False) -> KeySet:
        if self._keys is None or refresh:
            jwks = await self._get_json(str((await self.metadata())["jwks_uri"]))
            self._keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
        return self._keys

    async def verify_id_token(self, id_token: str, nonce: str) -> dict[str, Any]:
        try:
            try:
                token = jwt.decode(id_token, await self._key_set(), algorithms=ALGORITHMS)
            except ValueError:  # no key of that id: the provider may have rotated its keys
                token = jwt.decode(id_token, await self._key_set(True), algorithms=ALGORITHMS)
            claims: dict[str, Any] = dict(token.claims)
            JWTClaimsRegistry(
                leeway=LEEWAY_SECONDS,
                iss={"essential": True, "value": self.issuer},
                aud={"essential": True, "value": self.client_id},
                sub={"essential": True},
                exp={"essential": True},
                iat={"essential": True},
                nonce={"essential": True, "value": nonce},
            ).validate(claims)
        except JoseError as exc:
            raise OidcError(f"the ID token does not verify: {exc.error}") from exc
        except ValueError as exc:  # not a JWT, or signed with a key the provider never had
            raise OidcError(f"the ID token does not verify: {exc}") from exc
        audience = claims.get("aud")
        if isinstance(audience, list) and len(audience) > 1 and claims.get("azp") != self.client_id:
            raise OidcError("the ID token was issued to another party (azp)")
        return claims
