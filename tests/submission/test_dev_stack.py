"""The pieces `make run` adds for SMTP submission: the self-signed certificate it makes
into .data (kept across starts, and taken by the server), and the banner's settings."""

from __future__ import annotations

import subprocess
from pathlib import Path

from mailpass_common.smtp_server import server_context
from mailpass_dev.main import BANNER

ROOT = Path(__file__).resolve().parents[2]


def test_the_dev_certificate_is_made_once_and_serves(tmp_path: Path) -> None:
    cert, key = tmp_path / "smtp-tls" / "tls.crt", tmp_path / "smtp-tls" / "tls.key"
    script = str(ROOT / "scripts" / "dev-smtp-cert.sh")
    subprocess.run([script, str(cert), str(key)], check=True, timeout=30)
    server_context(cert, key)  # a pair the submission server loads
    first = cert.read_bytes()
    subprocess.run([script, str(cert), str(key)], check=True, timeout=30)
    assert cert.read_bytes() == first  # kept: clients that pinned it keep working
    assert oct(key.stat().st_mode & 0o777) == "0o600"


def test_the_banner_prints_the_submission_settings_and_a_swaks_line() -> None:
    text = BANNER.format(
        gateway_port=8000,
        tracker_port=8001,
        smtp_port=1025,
        inbound_port=2525,
        mailbox="/data/mailbox",
        key="mp_live_example",
        console_link="http://127.0.0.1:8000/console/link",
        owner_email="owner@mailpass.test",
        owner_password="dev-password",
        owner_secret="JBSWY3DPEHPK3PXP",
        submission_port=2587,
        submissions_port=2465,
    )
    assert "submission 127.0.0.1:2587 (STARTTLS), 2465 (TLS)" in text
    assert "swaks --server 127.0.0.1:2587 --tls --auth-user mailpass" in text
    assert "--auth-password mp_live_example" in text
