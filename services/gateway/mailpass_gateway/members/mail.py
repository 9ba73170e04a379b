"""Invitation mail, sent through MailPass itself: the platform's own account.

``CONSOLE_MAIL_ACCOUNT`` names the account whose default provider sends the console's
own mail. The invitation is stored and published like any message of that account (its
limits, its provider, its status in its console), so it is retried and never lost once
accepted. Without the setting, or when that account cannot send, nothing is mailed: the
console shows the link to whoever invited, to pass on themselves.
"""

from __future__ import annotations

import html
import logging

from mailpass_common.acceptance import service as acceptance
from mailpass_common.acceptance.refusals import Refused
from mailpass_common.messages.ids import new_message_id
from mailpass_common.messages.models import new_message
from mailpass_common.platform.broker import JobPublisher
from mailpass_common.platform.db import Database
from mailpass_common.platform.errors import ErrorCode
from mailpass_common.platform.jobs import MessageKind
from mailpass_common.providers.plugin import AcceptanceRefused
from mailpass_common.providers.service import ProviderCache
from mailpass_common.tenants import accounts
from mailpass_common.tenants.invitations import Invitation
from mailpass_common.tenants.members import ROLE_HELP, Role
from mailpass_gateway.settings import GatewaySettings

log = logging.getLogger(__name__)


class _Platform:
    """The platform account as the acceptance rules' caller (live mail)."""

    def __init__(self, account_id: str) -> None:
        self.account_id = account_id
        self.test = False


def invitation_text(invitation: Invitation, account_name: str, link: str) -> tuple[str, str, str]:
    """The subject, text and HTML of an invitation."""
    role = Role(invitation.role)
    subject = f"You are invited to {account_name} on MailPass"
    text = (
        f"You are invited to the MailPass account {account_name} as {role.value} "
        f"({ROLE_HELP[role]}).\n\nAccept the invitation here (it works once, until "
        f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC):\n{link}\n\n"
        "If you did not expect this, ignore this message.\n"
    )
    body = (
        f"<p>You are invited to the MailPass account <strong>{html.escape(account_name)}"
        f"</strong> as {role.value} ({html.escape(ROLE_HELP[role])}).</p>"
        f'<p><a href="{html.escape(link)}">Accept the invitation</a> (it works once, until '
        f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC).</p>"
        "<p>If you did not expect this, ignore this message.</p>"
    )
    return subject, text, body


async def send_invitation(
    db: Database,
    settings: GatewaySettings,
    providers: ProviderCache,
    publisher: JobPublisher,
    invitation: Invitation,
    *,
    account_name: str,
    link: str,
) -> str | None:
    """Mail the invitation from the platform's account: the message id, or None when it
    was not mailed (no such account configured, or it cannot send: logged)."""
    if not settings.console_mail_account:
        return None
    platform = await accounts.get_account_by_name(db, settings.console_mail_account)
    if platform is None:
        log.warning("CONSOLE_MAIL_ACCOUNT names no account: invitation not mailed")
        return None
    caller = _Platform(platform["_id"])
    try:
        provider = await acceptance.default_provider(providers, caller.account_id)
        from_email = str(provider.get("from_email") or "")
        if not from_email:
            raise Refused(ErrorCode.NO_SMTP_PROVIDER, "the default provider has no from address")
        subject, text, body = invitation_text(invitation, account_name, link)
        doc = new_message(
            message_id=new_message_id(settings.message_id_domain),
            account_id=caller.account_id,
            kind=MessageKind.IMMEDIATE,
            sandbox=False,
            provider_id=provider["_id"],
            from_email=from_email,
            from_name=provider.get("from_name") or "MailPass",
            to=invitation.email,
            subject=subject,
            html=body,
            text=text,
            tags=["invitation"],
            track_opens=False,
            track_clicks=False,
            published=True,
        )
        await acceptance.require_accepted_sender(db, caller, provider, from_email)
        await acceptance.accept(db, caller, provider, doc, keyed=False)
    except AcceptanceRefused as exc:
        log.warning("the platform account cannot send the invitation: %s", exc)
        return None
    await acceptance.publish(publisher, doc)
    return str(doc["_id"])
