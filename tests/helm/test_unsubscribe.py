"""config.unsubscribeMailto: the mailbox List-Unsubscribe names beside the one-click link,
in the ConfigMap every component reads; anything but an address is refused."""

from __future__ import annotations

from tests.helm.chart import REQUIRED_VALUES, deep_merge, render, render_error


def test_the_mailto_reaches_the_configmap_only_when_set() -> None:
    configmaps = render(REQUIRED_VALUES).of_kind("ConfigMap")
    assert all("UNSUBSCRIBE_MAILTO" not in (c.get("data") or {}) for c in configmaps)
    mailbox = {"config": {"unsubscribeMailto": "unsubscribe@mail.example.com"}}
    found = [
        c["data"]["UNSUBSCRIBE_MAILTO"]
        for c in render(deep_merge(REQUIRED_VALUES, mailbox)).of_kind("ConfigMap")
        if "UNSUBSCRIBE_MAILTO" in (c.get("data") or {})
    ]
    assert found == ["unsubscribe@mail.example.com"]
    bad = {"config": {"unsubscribeMailto": "<x@y>?subject=hi"}}
    assert "unsubscribeMailto" in render_error(deep_merge(REQUIRED_VALUES, bad))
