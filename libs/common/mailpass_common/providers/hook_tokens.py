"""Mailgun's signing tokens, each taken once within the freshness window.

Mailgun signs ``timestamp + token`` only, not the event it sends with them, so a
signature captured from one request would verify with any other event for as long as
its timestamp is fresh. Mailgun's advice is to remember the tokens seen and refuse a
second use: one document per used token in ``event_hook_tokens``::

    {_id: sha256(hook id + token), expires_at}

Taking a token is one ``insert_one``: the ``_id`` is the unique key (a second use is a
``DuplicateKeyError``, across gateway replicas), and a TTL index on ``expires_at``
removes it once no timestamp it could be signed with is fresh any more.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta

from pymongo.errors import DuplicateKeyError

from mailpass_common.platform.db import Collections, Database
from mailpass_common.providers.notifications import MAX_SKEW_SECONDS
from mailpass_common.providers.plugin import SignatureInvalid

MAX_TOKEN_CHARS = 256


async def take_token(db: Database, hook_id: str, token: str) -> None:
    """Record ``token`` as used for the hook, or refuse it (SignatureInvalid) if it was."""
    if not token or len(token) > MAX_TOKEN_CHARS:
        raise SignatureInvalid("the signature's token is missing or too long")
    key = hashlib.sha256(f"{hook_id}:{token}".encode()).hexdigest()
    # A timestamp may be up to the window in the future: keep the token two windows.
    expires_at = datetime.now(UTC) + timedelta(seconds=2 * MAX_SKEW_SECONDS)
    try:
        await db[Collections.EVENT_HOOK_TOKENS].insert_one({"_id": key, "expires_at": expires_at})
    except DuplicateKeyError as exc:
        raise SignatureInvalid("the signature's token was used already (a replay)") from exc
