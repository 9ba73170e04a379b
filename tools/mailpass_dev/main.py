"""``mailpass-dev mailbox``: the dev stack's capture SMTP server and its ``dev`` account."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
from pathlib import Path

from mailpass_cli.console import link_url
from mailpass_common.platform import db as dbmod
from mailpass_common.platform import telemetry
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.lifecycle import wait_for_mongodb
from mailpass_common.platform.settings import CommonSettings, load_settings
from mailpass_common.tenants import console_auth, users
from mailpass_dev.bootstrap import bootstrap, read_owner
from mailpass_dev.bounces import BounceBack
from mailpass_dev.devdns import DEFAULT_RETURN_PATH_DOMAIN, serve_dns
from mailpass_dev.mailbox import start_mailbox

BANNER = """
================================================================================
 MailPass dev stack
   gateway   http://127.0.0.1:{gateway_port}   (docs: http://127.0.0.1:{gateway_port}/docs)
   console   http://127.0.0.1:{gateway_port}/console
             sign in as {owner_email} (owner of dev), password {owner_password},
             and the code .venv/bin/mailpass-dev totp prints (or add the secret
             {owner_secret} to an authenticator app)
             or once within 15 minutes: {console_link}
             (a new link: .venv/bin/mailpass console-link --account dev)
   tracker   http://127.0.0.1:{tracker_port}
   metrics   http://127.0.0.1:9100/metrics (gateway), :9101 (sender), :9102 (tracker),
             :9103 (scheduler), :9104 (webhooks), :9105 (inbound), :9106 (smtp);
             /healthz and /readyz on the same ports
   mailbox   smtp://127.0.0.1:{smtp_port}  ->  {mailbox}
   inbound   smtp://127.0.0.1:{inbound_port}  bounces of MailPass SMTP's mail (send to
             bounce@example.test from a verified .test domain; README: make run)
   API key   {key}
   SMTP      submission 127.0.0.1:{submission_port} (STARTTLS), {submissions_port} (TLS);
             user: anything, password: the API key; self-signed certificate

 curl -X POST http://127.0.0.1:{gateway_port}/api/v1/mail/send \\
   -H "Authorization: Bearer {key}" \\
   -H "Content-Type: application/json" \\
   -d '{{"to": "user@example.com", "subject": "Hello", "html": "<p>Hello World</p>"}}'

 swaks --server 127.0.0.1:{submission_port} --tls --auth-user mailpass \\
   --auth-password {key} --from dev@mailpass.test --to user@example.com \\
   --header "Subject: Hello over SMTP" --body "Sent with swaks"
================================================================================
"""


async def serve_mailbox(data_dir: Path, host: str, port: int) -> None:
    settings = load_settings(CommonSettings, "mailpass-dev")
    # Bounces and complaints of MailPass SMTP's mail, to mailpass-inbound (see bounces).
    bounce_back = BounceBack(
        settings.mta_return_path_domain or DEFAULT_RETURN_PATH_DOMAIN,
        "127.0.0.1",
        int(os.environ.get("INBOUND_SMTP_PORT", "2525")),
    )
    controller = start_mailbox(data_dir / "mailbox", host, port, bounce_back)
    client, db = dbmod.connect(settings)
    try:
        await wait_for_mongodb(db, settings.startup_timeout_seconds)
        dev = await bootstrap(
            db,
            CredentialCipher(settings.secret_key.get_secret_value(), settings.previous_secrets()),
            key_file=data_dir / "dev-api-key",
            smtp_host=host,
            smtp_port=port,
            totp=users.totp_cipher(
                settings.secret_key.get_secret_value(), settings.previous_secrets()
            ),
        )
        assert dev.owner is not None
        gateway_port = os.environ.get("GATEWAY_PORT", "8000")
        gateway_url = f"http://127.0.0.1:{gateway_port}"
        print(
            BANNER.format(
                gateway_port=gateway_port,
                tracker_port=os.environ.get("TRACKER_PORT", "8001"),
                smtp_port=port,
                inbound_port=bounce_back.inbound_port,
                mailbox=(data_dir / "mailbox").resolve(),
                key=dev.api_key,
                owner_email=dev.owner.email,
                owner_password=dev.owner.password,
                owner_secret=dev.owner.totp_secret,
                submission_port=os.environ.get("SMTP_SUBMISSION_PORT", "2587"),
                submissions_port=os.environ.get("SMTP_SUBMISSIONS_PORT", "2465"),
                console_link=link_url(
                    gateway_url, await console_auth.create_link(db, dev.account_id)
                ),
            ),
            flush=True,
        )
        await asyncio.Event().wait()
    finally:
        await client.close()
        controller.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="mailpass-dev")
    sub = parser.add_subparsers(dest="command", required=True)
    box = sub.add_parser("mailbox", help="capture SMTP server + dev account bootstrap")
    box.add_argument("--data-dir", default=".data", type=Path)
    box.add_argument("--host", default="127.0.0.1")
    box.add_argument("--port", default=1025, type=int)
    dns = sub.add_parser("dns", help="the dev DNS server: .test MX to the capture server")
    dns.add_argument("--data-dir", default=".data", type=Path)
    dns.add_argument("--host", default="127.0.0.1")
    dns.add_argument("--port", default=1053, type=int)
    dns.add_argument("--interval", default=2.0, type=float, help="seconds between syncs")
    totp = sub.add_parser("totp", help="the dev owner's current sign-in code")
    totp.add_argument("--data-dir", default=".data", type=Path)
    args = parser.parse_args(argv)
    if args.command == "totp":
        owner = read_owner(args.data_dir / "dev-owner.json")
        if owner is None:
            raise SystemExit("no dev owner yet: start the stack (make run) first")
        print(owner.code())
        return
    telemetry.setup("mailpass-dev", "INFO")
    with contextlib.suppress(KeyboardInterrupt):
        if args.command == "dns":
            asyncio.run(serve_dns(args.data_dir, args.host, args.port, args.interval))
        else:
            asyncio.run(serve_mailbox(args.data_dir, args.host, args.port))
