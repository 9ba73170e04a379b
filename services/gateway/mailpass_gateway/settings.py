from __future__ import annotations

from typing import Any

from pydantic import Field, SecretStr, field_validator

from mailpass_common.platform.settings import CommaList, ServiceSettings
from mailpass_gateway.rate_limit import RateLimitPolicy


class GatewaySettings(ServiceSettings):
    gateway_host: str = "127.0.0.1"
    gateway_port: int = 8000
    management_port: int = 9100
    # Worker processes (one core each) sharing the ports; in a cluster, prefer replicas.
    gateway_workers: int = Field(default=1, ge=1, le=64)
    # How long POST /mail/send waits for the delivery result before answering 202 queued.
    send_timeout_seconds: float = 30.0
    # Request bodies larger than this are refused with 413 before they are parsed. 10 MiB
    # holds a full batch of 100 typical messages; one message's html and text are capped
    # at 512 KiB each by validation.
    max_request_bytes: int = 10 * 1024 * 1024
    # One message as it goes on the wire (bodies and every attachment base64-encoded) is
    # refused beyond this: 413 MESSAGE_TOO_LARGE.
    max_message_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024)
    # Executable attachments (by extension, type or content) are refused unless allowed.
    attachments_allow_executables: bool = False
    # Provider event hooks (bounces, complaints): the largest notification body taken, and
    # notifications a second per hook (a burst of ten times that is allowed).
    event_hook_max_bytes: int = Field(default=1024 * 1024, ge=1024)
    event_hook_rate_per_second: float = Field(default=20.0, gt=0)
    # URL prefixes trusted for SNS signing certificates and subscription confirmations
    # besides https://sns.<region>.amazonaws.com/ (tests: a local server's).
    sns_trusted_url_prefixes: CommaList = Field(default_factory=list)
    # /docs and /redoc (mailpass_gateway.api_docs): unset, on in development only.
    api_docs: bool | None = None

    @field_validator("sns_trusted_url_prefixes", mode="before")
    @classmethod
    def _comma_separated_prefixes(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    # Requests an API key may make per window, counted across every replica (in MongoDB;
    # see mailpass_gateway.rate_limit); beyond, 429 RATE_LIMITED with Retry-After. 0: off.
    api_rate_limit: int = Field(default=6000, ge=0)
    api_rate_limit_window_seconds: int = Field(default=60, ge=1, le=3600)

    @property
    def rate_limit_policy(self) -> RateLimitPolicy:
        return RateLimitPolicy(self.api_rate_limit, self.api_rate_limit_window_seconds)

    # The tracker's public base URL (as the sender's TRACKER_BASE_URL): templates'
    # {{ unsubscribe_url }} is a signed link there. https in production.
    tracker_base_url: str = "http://127.0.0.1:8001"
    # An Idempotency-Key still "running" this long after its request began belongs to a
    # gateway that died mid-request; a retry may take it over. Must exceed the send timeout.
    idempotency_stale_seconds: float = 300.0
    # The web console (/console). A session lasts this long after its sign-in.
    console_session_hours: float = Field(default=12.0, gt=0, le=720)
    # The session cookie's Secure flag; by default set everywhere but in development,
    # which serves the console over plain http on 127.0.0.1.
    console_cookie_secure: bool | None = None
    # Sign-in attempts (API key or one-time link) allowed per client address and window.
    console_signin_attempts: int = Field(default=10, ge=1)
    console_signin_window_seconds: int = Field(default=300, ge=1)

    # The admin API's token (/admin/v1): given itself, or in a file (a mounted Secret).
    # Neither: the admin API is off (404).
    admin_api_token: SecretStr | None = None
    admin_api_token_file: str | None = None

    @field_validator("admin_api_token")
    @classmethod
    def _long_admin_token(cls, value: SecretStr | None) -> SecretStr | None:
        # It governs every account: as long as SECRET_KEY must be.
        if value is not None and 0 < len(value.get_secret_value().strip()) < 32:
            raise ValueError("ADMIN_API_TOKEN must be at least 32 bytes (openssl rand -base64 48)")
        return value

    def admin_token(self) -> str | None:
        """The admin token, read from its file on each call (a rotated Secret is taken up
        without a restart); None when none is configured or the file is empty."""
        if self.admin_api_token is not None and self.admin_api_token.get_secret_value():
            return self.admin_api_token.get_secret_value().strip() or None
        if self.admin_api_token_file:
            try:
                with open(self.admin_api_token_file, encoding="utf-8") as token_file:
                    return token_file.read().strip() or None
            except OSError:
                return None
        return None

    # Console users (the README's "Sign-in and roles"). With an OpenID Connect issuer set,
    # people sign in through it (authorization code with PKCE); without, with email,
    # password and a TOTP code. The redirect URI to register with the provider is
    # <console public URL>/console/oidc/callback.
    console_oidc_issuer: str = ""
    console_oidc_client_id: str = ""
    console_oidc_client_secret: SecretStr | None = None
    console_oidc_name: str = "single sign-on"  # on the button: "Sign in with <name>"
    console_oidc_scopes: str = "openid email profile"
    # The ID token claim listing the person's groups, and which group grants which role
    # in which account: "group=account:role", comma-separated (e.g.
    # "mail-admins=acme:admin,mail-devs=acme:developer").
    console_oidc_group_claim: str = "groups"
    console_oidc_group_roles: CommaList = Field(default_factory=list)
    # The account whose default provider sends the console's own mail (invitations);
    # unset, an invitation's link is shown to whoever invited, to pass on themselves.
    console_mail_account: str = ""
    # The console's public address for links in mail and the OpenID redirect URI
    # (e.g. https://mail.example.com); unset, the address the request came to.
    console_public_url: str = ""

    @field_validator("console_oidc_group_roles", mode="before")
    @classmethod
    def _comma_separated_roles(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("console_oidc_group_roles")
    @classmethod
    def _group_roles(cls, value: list[str]) -> list[str]:
        for entry in value:
            group, _, grant = entry.partition("=")
            account, _, role = grant.rpartition(":")
            if not group or not account or role not in ("owner", "admin", "developer", "viewer"):
                raise ValueError(
                    f"{entry!r}: expected group=account:role (role one of owner, "
                    "admin, developer, viewer)"
                )
        return value

    @property
    def console_oidc(self) -> bool:
        """Whether people sign in through an OpenID Connect provider."""
        return bool(self.console_oidc_issuer and self.console_oidc_client_id)

    @property
    def console_secure_cookie(self) -> bool:
        if self.console_cookie_secure is not None:
            return self.console_cookie_secure
        return self.environment != "development"
