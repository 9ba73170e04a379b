"""Secret-named fields never reach the audit log, at any depth."""

from __future__ import annotations

from mailpass_common.audit.redaction import REDACTED, redact


def test_secret_fields_are_replaced_at_any_depth() -> None:
    state = {
        "name": "relay",
        "config": {"host": "smtp.example", "password": "p", "api_key": "k"},
        "secrets": "gAAAA-encrypted",
        "keys": [{"selector": "s1", "private_key_pem": "-----BEGIN PRIVATE KEY-----"}],
        "key_hash": "ab" * 32,
        "webhook_secret": "whsec_x",
        "totp_seed": "JBSWY3DPEHPK3PXP",
        "access_token": "t",
        "client_secret": None,
    }
    assert redact(state) == {
        "name": "relay",
        "config": {"host": "smtp.example", "password": REDACTED, "api_key": REDACTED},
        "secrets": REDACTED,
        "keys": [{"selector": "s1", "private_key_pem": REDACTED}],
        "key_hash": REDACTED,
        "webhook_secret": REDACTED,
        "totp_seed": REDACTED,
        "access_token": REDACTED,
        "client_secret": None,  # nothing to hide: an absent secret stays visibly absent
    }


def test_plain_values_are_kept() -> None:
    assert redact(None) is None
    assert redact([1, "a", {"enabled": True}]) == [1, "a", {"enabled": True}]
