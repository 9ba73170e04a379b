"""``mailpass secrets rotate``: re-encrypt provider credentials, webhook signing secrets and
console users' TOTP secrets under the current key.

Run it after deploying a new ``SECRET_KEY`` with the old one in ``SECRET_KEY_PREVIOUS``
(see ``mailpass_common.providers.credential_rotation``). It prints what it did and exits 1 when
some credentials could not be decrypted with any listed key.
"""

from __future__ import annotations

import argparse
from typing import Any

from mailpass_cli import CliContext
from mailpass_common.providers.credential_rotation import reencrypt_credentials
from mailpass_common.tenants import users


async def rotate(args: argparse.Namespace, ctx: CliContext) -> int:
    report = await reencrypt_credentials(ctx.db, ctx.cipher)
    print(
        f"re-encrypted {report.reencrypted}, already under the current key "
        f"{report.already_current}, changed meanwhile {report.changed_meanwhile}, "
        f"undecryptable {len(report.undecryptable)}"
    )
    if report.changed_meanwhile:
        print("some providers changed during the run: run it again to check them")
    totp = await users.reencrypt_totp(
        ctx.db,
        users.totp_cipher(
            ctx.settings.secret_key.get_secret_value(), ctx.settings.previous_secrets()
        ),
    )
    lost = totp.undecryptable
    print(
        f"TOTP secrets: re-encrypted {totp.reencrypted}, already under the current key "
        f"{totp.already_current}, undecryptable {len(lost)}"
    )
    if lost:
        print(
            "no listed key decrypts the TOTP secret of: " + ", ".join(lost) + " (add the "
            "key it was encrypted with to SECRET_KEY_PREVIOUS)"
        )
    if report.undecryptable:
        print(
            "no listed key decrypts the credentials of: "
            + ", ".join(report.undecryptable)
            + " (add the key they were encrypted with to SECRET_KEY_PREVIOUS, or set "
            "their secrets again)"
        )
    return 1 if report.undecryptable or lost else 0


def register(groups: Any) -> None:
    parser: argparse.ArgumentParser = groups.add_parser("secrets", help="SECRET_KEY rotation")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser(
        "rotate",
        help="re-encrypt providers' credentials, webhook secrets and users' TOTP secrets "
        "under SECRET_KEY (idempotent)",
    ).set_defaults(handler=rotate)
