"""The signed VERP return path: made for one message, parsed back, never forged."""

from __future__ import annotations

import pytest

from mailpass_common.mta import verp

KEYS = verp.keys_from_secrets("k" * 40, ["old" * 12])
MESSAGE_ID = "<0123456789abcdef01234567.1765000000@mail.example.com>"
DOMAIN = "rp.example.net"


def test_made_parsed_and_matched() -> None:
    address = verp.make(MESSAGE_ID, DOMAIN, KEYS[0])
    local, _, domain = address.partition("@")
    assert domain == DOMAIN and len(local) == 40 and local.isalnum() and local.islower()
    parsed = verp.parse(address.upper(), DOMAIN)  # some MTAs fold case
    assert parsed is not None
    assert parsed.message_id_prefix == "<0123456789abcdef01234567.1765000000@"
    assert parsed.signs(MESSAGE_ID, KEYS)
    # the same hex and time under another domain is another message
    assert not parsed.signs("<0123456789abcdef01234567.1765000000@other.example>", KEYS)


def test_a_previous_key_still_matches_its_bounces() -> None:
    address = verp.make(MESSAGE_ID, DOMAIN, KEYS[1])
    parsed = verp.parse(address, DOMAIN)
    assert parsed is not None and parsed.signs(MESSAGE_ID, KEYS)
    assert not parsed.signs(MESSAGE_ID, KEYS[:1])


def test_forged_and_foreign_addresses_name_nothing() -> None:
    address = verp.make(MESSAGE_ID, DOMAIN, KEYS[0])
    local, _, _ = address.partition("@")
    for at in (1, 20, 39):  # the id, the time's end, the tag's last (partly unused) bits
        flipped = local[:at] + ("a" if local[at] != "a" else "b") + local[at + 1 :]
        tampered = verp.parse(f"{flipped}@{DOMAIN}", DOMAIN)
        assert tampered is None or not tampered.signs(MESSAGE_ID, KEYS), at
    for other in (
        f"{local}@elsewhere.example",
        f"postmaster@{DOMAIN}",
        f"x{local[1:]}@{DOMAIN}",
        f"{local}0@{DOMAIN}",
        "",
        "@",
        "b" + "1" * 39 + "@" + DOMAIN,  # not base32
        "a" * 400,
    ):
        assert verp.parse(other, DOMAIN) is None, other


def test_only_mailpass_message_ids() -> None:
    with pytest.raises(ValueError):
        verp.make("<client-chosen@example.com>", DOMAIN, KEYS[0])
