"""What every MailPass SMTP server shares (``mailpass-smtp`` for submission,
``mailpass-inbound`` for bounces): aiosmtpd on the service's own loop, TLS from
certificate files reloaded as they change, connection limits (all clients and per client
address), a failure window per client address, the management port, graceful shutdown.

A service brings a handler with aiosmtpd's ``handle_*`` hooks (``handle_AUTH``,
``handle_MAIL``, ``handle_RCPT``, ``handle_DATA``...), whose first argument is the
session's :class:`ServedSMTP` (``.client``, ``.encrypted``), and wires it::

    tls = ReloadingTlsContext(cert_file, key_file)
    servers = [
        SmtpServer(Listener("submission", host, 587, TlsMode.STARTTLS, require_tls=True),
                   handler, options, tls),
        SmtpServer(Listener("submissions", host, 465, TlsMode.IMPLICIT), handler, options, tls),
    ]
    await SmtpServing(servers, management=ManagementServer(...), tls=tls).run("mailpass-smtp")
"""

from mailpass_common.smtp_server.limits import ConnectionLimits, FailureWindow, Refusal
from mailpass_common.smtp_server.protocol import ServedSMTP, client_address
from mailpass_common.smtp_server.server import Listener, SmtpOptions, SmtpServer, TlsMode
from mailpass_common.smtp_server.serving import SmtpServing
from mailpass_common.smtp_server.tls import ReloadingTlsContext, server_context

__all__ = [
    "ConnectionLimits",
    "FailureWindow",
    "Listener",
    "Refusal",
    "ReloadingTlsContext",
    "ServedSMTP",
    "SmtpOptions",
    "SmtpServer",
    "SmtpServing",
    "TlsMode",
    "client_address",
    "server_context",
]
