"""A real OpenID Connect provider for the tests: ``oidc-provider`` from npm (a certified
implementation), run by ``tests/people/oidc/provider.mjs`` with Debian's node.

Its packages are installed from the folder's lock file (``npm ci``) the first time; node
and npm come with the SDK tests' tools (``scripts/sdk-tools.sh``), which ``make test``
runs first.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.support.services import free_port

FOLDER = Path(__file__).resolve().parents[1] / "people" / "oidc"
CLIENT_ID = "mailpass-console"
CLIENT_SECRET = "a-client-secret-for-the-tests-only"


def ensure_packages() -> None:
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("The OpenID Connect tests need node and npm: run scripts/sdk-tools.sh ensure")
    installed = FOLDER / "node_modules" / ".package-lock.json"
    if (
        not installed.exists()
        or (FOLDER / "package-lock.json").stat().st_mtime > installed.stat().st_mtime
    ):
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=FOLDER,
            check=True,
            timeout=600,
        )


@dataclass(frozen=True)
class OidcProvider:
    issuer: str
    client_id: str = CLIENT_ID
    client_secret: str = CLIENT_SECRET

    def gateway_settings(self, **extra: Any) -> dict[str, Any]:
        return {
            "console_oidc_issuer": self.issuer,
            "console_oidc_client_id": self.client_id,
            "console_oidc_client_secret": self.client_secret,
            "console_oidc_name": "Test SSO",
            **extra,
        }


@contextlib.contextmanager
def running_oidc_provider(
    redirect_uri: str, accounts: dict[str, dict[str, Any]], port: int | None = None
) -> Iterator[OidcProvider]:
    """The provider on ``port`` (a free one by default), knowing ``accounts``
    (login -> {email, name, groups}) and one client redirecting to ``redirect_uri``."""
    ensure_packages()
    port = port or free_port()
    config = {
        "port": port,
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "redirect_uri": redirect_uri,
        "accounts": accounts,
    }
    process = subprocess.Popen(
        ["node", "provider.mjs"],
        cwd=FOLDER,
        env={**os.environ, "OIDC_TEST_CONFIG": json.dumps(config)},
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 30
        line = process.stdout.readline()
        while line.strip() != "ready":
            if (not line and process.poll() is not None) or time.monotonic() > deadline:
                pytest.fail("the test OpenID provider did not start")
            line = process.stdout.readline()
        yield OidcProvider(f"http://127.0.0.1:{port}")
    finally:
        process.terminate()
        process.wait(timeout=10)
