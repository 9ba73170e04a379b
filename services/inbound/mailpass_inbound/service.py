"""The message a return-path address names, found and proven (:mod:`mailpass_common.mta.verp`).

The address gives the message id's prefix (``<hex.time@``); the message id's domain is
``MESSAGE_ID_DOMAIN`` (or an earlier one the operator lists in
``INBOUND_PREVIOUS_MESSAGE_ID_DOMAINS``), so the candidates are whole ids and one
``{"_id": {"$in": [...]}}`` finds the message: an index lookup on MongoDB and on
nx-27017 alike. (A range on ``_id`` from the prefix would need no list of domains, but
nx-27017 serves no range on ``_id``: it would scan every message for each RCPT, and an
address that merely parses costs a sender nothing to make.) The tag is then checked
against the id found, under the current and the previous secrets: a forged or altered
address names no message.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any, cast

from mailpass_common.messages.models import MessageDocument
from mailpass_common.mta import verp
from mailpass_common.platform.db import Collections, Database

# What recording a report needs of its message, and nothing of its content.
PROJECTION = {
    "account_id": 1,
    "sandbox": 1,
    "status": 1,
    "to": 1,
    "cc": 1,
    "bcc": 1,
    "from_email": 1,
}


class Refusal(StrEnum):
    """Why a recipient was refused (the metrics' ``reason``)."""

    OTHER_DOMAIN = "other_domain"  # not the return-path domain: never a relay
    NOT_A_RETURN_PATH = "not_a_return_path"  # on the domain, but not an address we make
    UNKNOWN_MESSAGE = "unknown_message"  # parses, but names no message it signs


def selector(message_id_prefix: str, message_id_domains: Sequence[str]) -> dict[str, Any]:
    """The stored messages a return path may name: one ``$in`` over whole ids."""
    return {"_id": {"$in": [f"{message_id_prefix}{d}>" for d in message_id_domains]}}


def on_domain(address: str, domain: str) -> bool:
    _, sep, at = address.strip().strip("<>").rpartition("@")
    return bool(sep) and at.lower().rstrip(".") == domain.lower().rstrip(".")


async def message_of(
    db: Database,
    address: str,
    *,
    domain: str,
    message_id_domains: Sequence[str],
    keys: Sequence[bytes],
) -> MessageDocument | Refusal:
    """The message ``address`` was made for, or why it names none."""
    if not on_domain(address, domain):
        return Refusal.OTHER_DOMAIN
    path = verp.parse(address, domain)
    if path is None:
        return Refusal.NOT_A_RETURN_PATH
    wanted = selector(path.message_id_prefix, message_id_domains)
    found = await db[Collections.MESSAGES].find(wanted, projection=PROJECTION).to_list()
    for doc in found:
        if path.signs(str(doc["_id"]), keys):
            return cast(MessageDocument, doc)
    return Refusal.UNKNOWN_MESSAGE
