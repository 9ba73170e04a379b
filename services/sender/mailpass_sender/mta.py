"""MailPass SMTP in the sender: the one delivery engine every ``mailpass`` provider shares,
built from the settings when the operator enabled it (``MTA_HELO_HOSTNAME`` and
``MTA_RETURN_PATH_DOMAIN`` set); without them, ``mailpass`` providers fail their messages
with a sentence saying what to set."""

from __future__ import annotations

import ssl

from mailpass_common.mta import verp
from mailpass_common.mta.engine import MtaEngine, MtaOptions
from mailpass_common.mta.resolver import make_resolver
from mailpass_common.mta.signing import DkimSigner
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Database
from mailpass_sender.settings import SenderSettings


def enabled(settings: SenderSettings) -> bool:
    return bool(settings.mta_helo_hostname and settings.mta_return_path_domain)


def build_engine(
    settings: SenderSettings, db: Database, cipher: CredentialCipher
) -> MtaEngine | None:
    if not enabled(settings):
        return None
    ca_file = settings.mta_tls_ca_file
    options = MtaOptions(
        helo_hostname=settings.mta_helo_hostname,
        return_path_domain=settings.mta_return_path_domain,
        return_path_key=verp.keys_from_secrets(settings.secret_key.get_secret_value())[0],
        port=settings.mta_smtp_port,
        max_connections_per_host=settings.mta_max_connections_per_host,
        max_messages_per_connection=settings.mta_max_messages_per_connection,
        backoff_seconds=settings.mta_backoff_seconds,
        timeout_seconds=settings.mta_timeout_seconds,
        slot_wait_seconds=settings.mta_session_wait_seconds,
        tls_context=ssl.create_default_context(cafile=ca_file) if ca_file else None,
        sts_https_port=settings.mta_sts_https_port,
    )
    signer = DkimSigner(db, cipher, settings.cache_ttl_seconds)
    return MtaEngine(
        db,
        make_resolver(settings.mta_dns_nameservers),
        settings.egress_policy(),
        options,
        signer.sign,
    )
