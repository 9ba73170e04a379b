"""Log lines: JSON with the service, the level, the trace and the message they are about;
never a credential, never a message's content, even at DEBUG with every library
logging (PyMongo's command log, for one, holds whole documents at DEBUG)."""

from __future__ import annotations

import contextlib
import io
import json
import logging
import secrets
from collections.abc import Iterator
from typing import Any

import pytest

from mailpass_common.platform import telemetry
from mailpass_common.platform.db import Database
from tests.admin.support import AuthSmtpServer, smtp_body
from tests.support.stack import running_gateway, running_sender
from tests.support.tenants import make_admin

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

SEND = "/api/v1/mail/send"


@contextlib.contextmanager
def service_logs(level: str) -> Iterator[io.StringIO]:
    """Every log line of the process, configured as a service's ``main`` does."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    quiet = {name: logging.getLogger(name).level for name in telemetry.QUIET_LOGGERS}
    lines = io.StringIO()
    telemetry.configure_logging("mailpass-test", level, lines)
    try:
        yield lines
    finally:
        root.handlers[:], root.level = saved
        for name, was in quiet.items():
            logging.getLogger(name).setLevel(was)


async def test_log_lines_carry_ids_and_never_credentials_or_content(
    db: Database, service_env: dict[str, Any]
) -> None:
    password = f"pw-{secrets.token_hex(8)}"
    marker = f"body-marker-{secrets.token_hex(8)}"
    trace_id = secrets.token_hex(16)
    traceparent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    admin = await make_admin(db, "acme")
    smtp = AuthSmtpServer("mailer", password).start()
    message = {
        "to": "user@example.com",
        "subject": f"Subject {marker}",
        "html": f"<p>{marker}</p>",
        "text": marker,
        "metadata": {"note": marker},
    }
    try:
        with service_logs("DEBUG") as lines:
            async with running_sender(service_env), running_gateway(service_env) as api:
                body = smtp_body(
                    smtp.port, config={"username": "mailer", "password": password}, is_default=True
                )
                created = await api.post("/api/v1/providers", json=body, headers=admin.headers)
                provider_id = created.json()["data"]["id"]
                checked = await api.post(
                    f"/api/v1/providers/{provider_id}/test", headers=admin.headers
                )
                headers = {**admin.headers, "traceparent": traceparent}
                sent = await api.post(SEND, json=message, headers=headers)
                smtp.handler.fail_next = [f"451 4.3.0 try later {marker[:4]}"]
                deferred = await api.post(SEND, json=message, headers=admin.headers)
                refused = await api.post(
                    SEND, json={**message, "to": f"not an address {marker}"}, headers=headers
                )
            debug_on = logging.getLogger("mailpass_sender").isEnabledFor(logging.DEBUG)
    finally:
        smtp.stop()

    assert created.status_code == 201, created.text
    assert checked.status_code == 200, checked.text
    assert (sent.status_code, deferred.status_code, refused.status_code) == (200, 202, 400)
    text = lines.getvalue()
    assert debug_on
    assert password not in text
    assert marker not in text
    entries = [json.loads(line) for line in text.splitlines()]
    for entry in entries:
        assert {"ts", "level", "service", "logger", "message"} <= set(entry), entry
        assert entry["service"] == "mailpass-test"

    message_id = sent.json()["data"]["message_id"]
    [delivered] = [e for e in entries if e["message"] == "delivered"]
    assert delivered["message_id"] == message_id
    # The caller's trace continues into the sender, tracing off as it is here.
    assert delivered["trace_id"] == trace_id and len(delivered["span_id"]) == 16
    [deferral] = [e for e in entries if e["message"] == "delivery deferred"]
    assert deferral["message_id"] == deferred.json()["data"]["message_id"]
    assert deferral["reply"].startswith("451")  # the provider's reply, as it gave it
