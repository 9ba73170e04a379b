"""Which address the tracker records: X-Forwarded-For only through trusted proxies."""

from __future__ import annotations

import pytest

from mailpass_tracker.clientip import TrustedProxies
from mailpass_tracker.settings import TrackerSettings

INGRESS = TrustedProxies(["10.0.0.0/8", "fd00::/8"])


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "expected"),
    [
        # An untrusted peer: whatever it claims is ignored.
        ("203.0.113.9", ["198.51.100.1"], "203.0.113.9"),
        ("203.0.113.9", [], "203.0.113.9"),
        # Through the ingress: the address the ingress saw.
        ("10.1.2.3", ["198.51.100.1"], "198.51.100.1"),
        # A client-forged entry to the left of the real one is not believed.
        ("10.1.2.3", ["6.6.6.6, 198.51.100.1"], "198.51.100.1"),
        # Chains of trusted proxies are walked through, headers sent twice are joined.
        ("10.1.2.3", ["6.6.6.6, 198.51.100.1, 10.9.9.9"], "198.51.100.1"),
        ("10.1.2.3", ["6.6.6.6", "198.51.100.1", "10.9.9.9"], "198.51.100.1"),
        # Ports and IPv6 forms proxies write.
        ("10.1.2.3", ["198.51.100.1:5123"], "198.51.100.1"),
        ("10.1.2.3", ["[2001:db8::7]:443"], "2001:db8::7"),
        ("fd00::1", ["2001:db8::7"], "2001:db8::7"),
        ("::ffff:10.1.2.3", ["198.51.100.1"], "198.51.100.1"),
        # Junk stops the walk at the last address we can vouch for.
        ("10.1.2.3", ["<script>"], "10.1.2.3"),
        ("10.1.2.3", ["198.51.100.1, unknown, 10.9.9.9"], "10.9.9.9"),
        # A trusted peer that forwards nothing is itself the client.
        ("10.1.2.3", [], "10.1.2.3"),
        (None, ["198.51.100.1"], None),
    ],
)
def test_client_ip(peer: str | None, forwarded_for: list[str], expected: str | None) -> None:
    assert INGRESS.client_ip(peer, forwarded_for) == expected


def test_no_trusted_proxies_means_the_header_is_never_believed() -> None:
    assert TrustedProxies([]).client_ip("127.0.0.1", ["198.51.100.1"]) == "127.0.0.1"


def test_settings_take_a_comma_separated_list_and_refuse_junk(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TRACKER_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.5")
    assert TrackerSettings().tracker_trusted_proxies == ["10.0.0.0/8", "192.168.1.5"]
    monkeypatch.setenv("TRACKER_TRUSTED_PROXIES", "10.0.0.0/8,not-a-network")
    with pytest.raises(ValueError, match="not-a-network"):
        TrackerSettings()
