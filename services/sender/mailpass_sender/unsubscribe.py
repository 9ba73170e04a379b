"""One-click unsubscribe headers on an outgoing email (RFC 8058).

Whether: the message's ``unsubscribe`` (from the API request) wins; ``None`` means the
account's default (:func:`mailpass_common.tenants.accounts.tracking_defaults`), off unless set.
What: ``List-Unsubscribe`` naming the recipient's signed link on the tracker (and a
``mailto:`` when ``UNSUBSCRIBE_MAILTO`` is set) and ``List-Unsubscribe-Post:
List-Unsubscribe=One-Click``. They are set on the email before its MIME is built
(:func:`mailpass_common.providers.delivery.mime.render`), so every provider sends them and a DKIM
signer, MailPass's own or a provider's, sees and can sign them.
"""

from __future__ import annotations

import dataclasses

from mailpass_common.messages.models import MessageDocument
from mailpass_common.providers.delivery.base import OutgoingEmail
from mailpass_common.tenants.accounts import TrackingDefaults
from mailpass_common.unsubscribe.links import UnsubscribeLink, list_unsubscribe, signer_for
from mailpass_sender.settings import SenderSettings


def wants_unsubscribe(message: MessageDocument, defaults: TrackingDefaults) -> bool:
    chosen = message.get("unsubscribe")
    return defaults.unsubscribe if chosen is None else bool(chosen)


def with_unsubscribe(
    email: OutgoingEmail, message: MessageDocument, settings: SenderSettings
) -> OutgoingEmail:
    """The email with its List-Unsubscribe headers (for its ``to`` recipient)."""
    signer = signer_for(settings.secret_key.get_secret_value(), settings.previous_secrets())
    link = UnsubscribeLink(message["account_id"], message["_id"], message["to"])
    token = signer.token(link)
    url = signer.url(settings.tracker_base_url, link)
    value = list_unsubscribe(url, settings.unsubscribe_mailto, token)
    return dataclasses.replace(email, list_unsubscribe=value)
