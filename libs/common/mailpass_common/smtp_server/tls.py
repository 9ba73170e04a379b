"""The TLS context of an SMTP server, read from certificate and key files and read again
when they change (cert-manager renews a Secret in place: the mounted files change under a
running pod, which must present the new certificate without a restart).

One :class:`ssl.SSLContext` serves every connection of the process: STARTTLS upgrades and
implicit-TLS listeners alike take it. A change of the files is noticed by polling their
``stat`` (a Secret volume swaps a symlink, which inotify on the file itself misses), then
loaded into a scratch context first: a pair caught half-written (the new certificate
beside the old key) is refused there, and the live context keeps serving the old pair
until the next check finds a pair that matches. Only a good pair is loaded into the live
context, which new handshakes then use; sessions already encrypted keep theirs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import ssl
from pathlib import Path

from mailpass_common.platform.telemetry import log_fields
from mailpass_common.smtp_server.metrics import TLS_RELOADS

log = logging.getLogger(__name__)

FileStamp = tuple[int, int, int]


def server_context(cert_file: Path, key_file: Path) -> ssl.SSLContext:
    """A server-side context with the pair loaded (TLS 1.2 at least, no client
    certificates asked for); ``OSError``/``ssl.SSLError`` when the pair is unusable."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context


class ReloadingTlsContext:
    """``context`` always holds the newest good certificate and key of the two files."""

    def __init__(
        self, cert_file: str | Path, key_file: str | Path, *, check_interval: float = 30.0
    ) -> None:
        self.cert_file, self.key_file = Path(cert_file), Path(key_file)
        self.check_interval = check_interval
        # At start a bad pair is an error: a server never comes up without its certificate.
        self._stamp = self._stat()
        self.context = server_context(self.cert_file, self.key_file)
        self._watch: asyncio.Task[None] | None = None

    def _stat(self) -> tuple[FileStamp, FileStamp]:
        stamps = []
        for path in (self.cert_file, self.key_file):
            st = os.stat(path)  # follows the Secret volume's symlinks
            stamps.append((st.st_mtime_ns, st.st_size, st.st_ino))
        return stamps[0], stamps[1]

    def reload_if_changed(self) -> bool:
        """Load the files again if they changed and form a good pair; whether it did."""
        try:
            stamp = self._stat()
        except OSError as exc:
            log.warning(
                "TLS files unreadable; keeping the loaded pair", extra=log_fields(error=str(exc))
            )
            TLS_RELOADS.labels("failed").inc()
            return False
        if stamp == self._stamp:
            return False
        try:
            server_context(self.cert_file, self.key_file)  # the pair must work on its own
            self.context.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as exc:
            # Not remembered as seen: the next check tries again (the rest of the pair may
            # still be on its way).
            log.warning(
                "TLS files changed but do not form a usable pair yet; keeping the loaded one",
                extra=log_fields(error=str(exc)),
            )
            TLS_RELOADS.labels("failed").inc()
            return False
        self._stamp = stamp
        TLS_RELOADS.labels("reloaded").inc()
        log.info("TLS certificate reloaded", extra=log_fields(cert_file=str(self.cert_file)))
        return True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval)
            self.reload_if_changed()

    def start(self) -> None:
        if self._watch is None:
            self._watch = asyncio.create_task(self._run(), name="tls-reload")

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
            self._watch = None
