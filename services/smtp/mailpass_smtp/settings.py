"""``mailpass-smtp``'s settings. The certificate is required: submission without TLS would
carry API keys in the clear, so the service does not start without one (fail closed)."""

from __future__ import annotations

from pydantic import Field

from mailpass_common.platform.settings import ServiceSettings


class SubmissionSettings(ServiceSettings):
    management_port: int = 9106
    smtp_host: str = "0.0.0.0"
    # RFC 6409 submission (STARTTLS required before AUTH) and RFC 8314 implicit TLS.
    # The chart listens on 2587 and 2465 in the container (no root, no capability) and
    # maps 587 and 465 in its Service. 0: any free port (tests).
    smtp_submission_port: int = 587
    smtp_submissions_port: int = 465
    smtp_tls_cert_file: str = Field(min_length=1)
    smtp_tls_key_file: str = Field(min_length=1)
    # How often the certificate files are looked at for a renewal.
    smtp_tls_reload_seconds: float = Field(default=30.0, gt=0)
    # The name in the greeting and EHLO reply; the host's name when empty.
    smtp_hostname: str = ""
    # The API's rules, under the same names as the gateway's (one value in the chart).
    max_message_bytes: int = Field(default=10 * 1024 * 1024, ge=64 * 1024)
    attachments_allow_executables: bool = False
    smtp_max_recipients: int = Field(default=50, ge=1, le=1000)
    smtp_max_connections: int = Field(default=500, ge=1)
    smtp_max_connections_per_client: int = Field(default=20, ge=1)
    # Failed authentications per client address in the window before it is cut off (421).
    smtp_auth_failures: int = Field(default=5, ge=1)
    smtp_auth_failure_window_seconds: float = Field(default=300.0, gt=0)
    smtp_idle_timeout_seconds: float = Field(default=300.0, gt=0)
    # A stop (SIGTERM) lets messages being stored finish this long; below the pod's
    # termination grace period.
    smtp_shutdown_grace_seconds: float = Field(default=20.0, gt=0)
