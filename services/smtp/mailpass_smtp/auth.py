"""AUTH PLAIN (RFC 4616) and AUTH LOGIN with an API key as the password.

The user name is free (``mailpass``, the account's name...): the key names the account.
The key must hold the ``mail`` permission; a test key (``mp_test_``) sends to the
sandbox, as on the API. Only over TLS: on 587 aiosmtpd refuses AUTH before STARTTLS
(and does not advertise it), and :func:`authenticate` checks again whatever the port.

A failure counts against the client's address (:class:`FailureWindow`); at the limit
the connection is cut off with 421 and new ones from the address are refused until its
failures age out. Keys are looked up through the short-lived key cache, so a revoked key
stops working within ``CACHE_TTL_SECONDS``.
"""

from __future__ import annotations

import binascii
import logging
from base64 import b64decode

from aiosmtpd.smtp import MISSING, Session

from mailpass_common.platform.telemetry import log_fields
from mailpass_common.smtp_server import ServedSMTP
from mailpass_common.tenants.api_keys import ApiKeyCache, ApiKeyRecord, Permission
from mailpass_smtp.metrics import AUTHENTICATIONS

log = logging.getLogger(__name__)

SUCCEEDED = "235 2.7.0 Authentication successful"
INVALID = "535 5.7.8 Authentication credentials invalid"
NO_TLS = "538 5.7.11 Encryption required for requested authentication mechanism"
MECHANISMS = ("PLAIN", "LOGIN")


async def _credentials(server: ServedSMTP, args: list[str]) -> tuple[bytes, bytes] | str | None:
    """(user, password), or the reply to give, or None when a reply was given already."""
    mechanism = args[0].upper()
    initial = args[1] if len(args) > 1 else None
    if mechanism == "PLAIN":
        if initial is None:
            answer = await server.challenge_auth("")
            if answer is MISSING:
                return None
            assert isinstance(answer, bytes)
        else:
            try:
                answer = b64decode(initial, validate=True)
            except (binascii.Error, ValueError):
                return "501 5.5.2 Can't decode base64"
        parts = answer.split(b"\x00")
        if len(parts) != 3:
            return "501 5.5.2 Can't split auth value"
        return parts[1], parts[2]
    if initial is None:
        user = await server.challenge_auth(server.AuthLoginUsernameChallenge)
    else:
        try:
            user = b64decode(initial, validate=True)
        except (binascii.Error, ValueError):
            return "501 5.5.2 Can't decode base64"
    if user is MISSING:
        return None
    password = await server.challenge_auth(server.AuthLoginPasswordChallenge)
    if password is MISSING:
        return None
    assert isinstance(user, bytes) and isinstance(password, bytes)
    return user, password


async def authenticate(
    server: ServedSMTP, session: Session, args: list[str], keys: ApiKeyCache
) -> str | None:
    """The reply to ``AUTH <args>``: the session is authenticated with the key's record
    as ``session.auth_data`` on success."""
    if args[0].upper() not in MECHANISMS:
        return "504 5.5.4 Unrecognized authentication type"
    if not server.encrypted:
        return NO_TLS
    found = await _credentials(server, args)
    if not isinstance(found, tuple):
        return found
    _, password = found
    record: ApiKeyRecord | None = None
    try:
        key = password.decode("ascii").strip()
    except UnicodeDecodeError:
        key = ""
    if key:
        record = await keys.authenticate(key)
    if record is None or Permission.MAIL not in record.permissions:
        return _failed(server, "no such key" if record is None else "no mail permission")
    session.authenticated = True
    session.auth_data = record  # type: ignore[assignment]  # aiosmtpd: "anything"
    AUTHENTICATIONS.labels("succeeded").inc()
    log.info(
        "smtp client authenticated",
        extra=log_fields(client=server.client, account_id=record.account_id, test=record.test),
    )
    return SUCCEEDED


def _failed(server: ServedSMTP, why: str) -> str | None:
    log.info("smtp authentication failed", extra=log_fields(client=server.client, reason=why))
    if server.record_failure():
        AUTHENTICATIONS.labels("blocked").inc()
        server.cut_off()
        return None
    AUTHENTICATIONS.labels("failed").inc()
    return INVALID
