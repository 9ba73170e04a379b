from __future__ import annotations

from pydantic import Field, model_validator

from mailpass_common.mta.engine import MtaEngine
from mailpass_common.platform.broker import MAX_JITTER
from mailpass_common.platform.settings import DEVELOPMENT, ServiceSettings
from mailpass_common.providers.delivery.options import DeliveryOptions, delivery_options


class SenderSettings(ServiceSettings):
    # Jobs in flight per queue and sender process (RabbitMQ prefetch). Deliveries run
    # concurrently up to each provider's connection cap; the rest wait their turn, so
    # this bounds memory and how many jobs a dying sender hands back.
    sender_prefetch: int = Field(default=256, ge=1)
    # The batch queue's prefetch, in jobs of up to 100 messages each. Its messages are
    # claimed as they arrive, so this bounds what one sender holds claimed: 8 jobs (800
    # messages) keep every connection busy, are all delivered well within the lease even
    # by a slow relay, and are all a killed sender leaves waiting for their lease.
    sender_batch_prefetch: int = Field(default=8, ge=1)
    # Most messages claimed, and outcomes recorded, in one database round trip.
    sender_batch_size: int = Field(default=100, ge=1, le=1000)
    # How long the batch queue's pipeline waits for more jobs before claiming a partial
    # batch (immediate jobs never wait).
    sender_batch_linger_seconds: float = Field(default=0.005, ge=0, le=1)
    # A claimed message whose sender has not recorded an outcome after this long is
    # considered abandoned (its sender died) and may be claimed again.
    sender_lease_seconds: float = 120.0
    # While the database is unreachable, recording outcomes is retried this long before
    # the jobs are given back (below the lease: the claim must still be ours).
    sender_record_retry_seconds: float = Field(default=60.0, ge=0)
    management_port: int = 9101
    # Worker processes (one core each); in a cluster, prefer replicas.
    sender_workers: int = Field(default=1, ge=1, le=64)
    # Delivery attempts before a message fails and its job goes to the dead-letter queue
    # (each attempt tries the default provider and then the fallbacks).
    sender_max_attempts: int = Field(default=8, ge=1)
    # Retry schedule: base * 2^(n-1) seconds after the n-th failed attempt, capped at
    # max, each delay spread by ±jitter so retries of a burst do not arrive together.
    sender_retry_base_seconds: float = Field(default=30.0, gt=0)
    sender_retry_max_seconds: float = Field(default=3600.0, gt=0)
    sender_retry_jitter: float = Field(default=0.2, ge=0, le=MAX_JITTER)
    # A deferral because MailPass itself backs the destination off (it answered 421/4.7.x)
    # spends no attempt; a message that has waited on back-offs this long in total fails
    # (dead-lettered, replayable) instead of waiting on for ever.
    sender_backoff_wait_limit_seconds: float = Field(default=86_400.0, gt=0)
    # A provider failing temporarily this many times in a row is skipped (the circuit
    # opens) for circuit_open_seconds; then one delivery tries it again.
    circuit_failure_threshold: int = Field(default=5, ge=1)
    circuit_open_seconds: float = Field(default=30.0, gt=0)
    # Connections kept open per SMTP provider, which is also its concurrency cap.
    smtp_max_connections: int = 8
    smtp_timeout_seconds: float = 30.0
    # A pooled SMTP connection idle longer than this is checked with NOOP before reuse:
    # servers drop idle sessions, and a stale one must not cost the message a retry.
    smtp_idle_check_seconds: float = 10.0
    # Where test API keys (mp_test_) and the sandbox provider deliver: a capture server.
    sandbox_smtp_host: str = "127.0.0.1"
    sandbox_smtp_port: int = 1025
    # The tracker's public base URL, put in open pixels and click links: the ingress host
    # in a cluster (e.g. https://t.example.com), reachable by recipients' mail clients.
    tracker_base_url: str = "http://127.0.0.1:8001"
    # A mailbox for List-Unsubscribe's mailto (e.g. unsubscribe@mail.example.com), beside
    # the tracker's one-click link; none when unset.
    unsubscribe_mailto: str | None = None
    # Time allowed to add tracking to one HTML part (linear in its size: a 512 KiB body of
    # nothing but links takes a few hundred milliseconds). Past it, the message goes out
    # untracked and a tracking_skipped event says so.
    sender_tracking_budget_seconds: float = Field(default=2.0, gt=0)

    # MailPass SMTP (the `mailpass` provider type, mailpass_common.mta), per receiving MX
    # host and sender process: sessions open at once, transactions per session before
    # QUIT (both polite to receivers, as Postfix's destination limits), and how long a host
    # that answered 421 or 4.7.x is left alone by every sender.
    mta_max_connections_per_host: int = Field(default=10, ge=1, le=100)
    mta_max_messages_per_connection: int = Field(default=100, ge=1, le=10_000)
    mta_backoff_seconds: float = Field(default=300.0, gt=0, le=86_400)
    # Network steps of a delivery (connect, each reply), and how long a message waits for
    # one of its host's sessions before it is deferred.
    mta_timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    mta_session_wait_seconds: float = Field(default=30.0, gt=0, le=600)
    # PEM certificates trusted for MTA-STS (policy fetches, MX certificates) instead of the
    # system's store; and the policies' HTTPS port, 443 but in development (tests).
    mta_tls_ca_file: str | None = None
    mta_sts_https_port: int = Field(default=443, ge=1, le=65535)

    @model_validator(mode="after")
    def _sts_port_443_outside_development(self) -> SenderSettings:
        if self.mta_sts_https_port != 443 and self.environment != DEVELOPMENT:
            raise ValueError(
                f"MTA_STS_HTTPS_PORT={self.mta_sts_https_port}: MTA-STS policies are served "
                f"on 443; another port only with ENVIRONMENT={DEVELOPMENT}"
            )
        return self

    def delivery_options(self, mta: MtaEngine | None = None) -> DeliveryOptions:
        return delivery_options(
            self,
            mta=mta,
            smtp_max_connections=self.smtp_max_connections,
            smtp_timeout_seconds=self.smtp_timeout_seconds,
            smtp_idle_check_seconds=self.smtp_idle_check_seconds,
            sandbox_smtp_host=self.sandbox_smtp_host,
            sandbox_smtp_port=self.sandbox_smtp_port,
        )
