"""``make upgrade``'s judgement of who handled whose work, from the senders' counters."""

from __future__ import annotations

from collections import Counter

from mailpass_dev.upgrade.evidence import NEW, OLD, Stretch, cross_checks, rejected, sender_counts

SCRAPE = """\
# TYPE mailpass_sender_deliveries_total counter
mailpass_sender_deliveries_total{outcome="sent",provider_type="smtp"} 7.0
mailpass_sender_deliveries_total{outcome="deferred",provider_type="smtp"} 2.0
# TYPE mailpass_sender_jobs_total counter
mailpass_sender_jobs_total{queue="immediate",result="done"} 3.0
mailpass_sender_jobs_total{queue="batch",result="done"} 1.0
mailpass_sender_jobs_total{queue="batch",result="rejected"} 1.0
# TYPE mailpass_webhook_deliveries_total counter
mailpass_webhook_deliveries_total{outcome="succeeded"} 5.0
mailpass_webhook_deliveries_total{outcome="retrying"} 1.0
"""


def test_a_scrape_gives_deliveries_and_jobs_by_queue() -> None:
    assert sender_counts(SCRAPE) == Counter(sent=7, immediate=3, batch=1, rejected=1, webhooks=5)


def _stretch(versions: dict[str, str], work: dict[str, Counter[str]]) -> Stretch:
    return Stretch(versions, {s: Counter() for s in work}, work)


def test_each_direction_needs_work_seen_while_only_the_other_release_wrote() -> None:
    mixed = {"gateway": OLD, "scheduler": OLD, "sender-1": NEW, "sender-2": OLD}
    only_old_did_work = _stretch(mixed, {"sender-1": Counter(), "sender-2": Counter(batch=5)})
    checks = cross_checks([only_old_did_work])
    assert not any(checks.values())
    new_did_work = _stretch(mixed, {"sender-1": Counter(immediate=2, batch=1)})
    checks = cross_checks([only_old_did_work, new_did_work])
    assert [name for name, ok in checks.items() if ok] == [
        "a current sender finished jobs of a previous gateway (immediate)",
        "a current sender finished jobs of a previous scheduler (batch)",
    ]
    rolled = {"gateway": NEW, "scheduler": NEW, "sender-1": NEW, "sender-2": OLD}
    old_read_new = _stretch(rolled, {"sender-2": Counter(immediate=1, batch=1)})
    assert all(cross_checks([new_did_work, old_read_new]).values())


def test_refused_jobs_are_counted_over_the_run() -> None:
    first = _stretch({"sender-1": OLD}, {"sender-1": Counter(rejected=2)})
    second = _stretch({"sender-1": NEW}, {"sender-1": Counter(sent=4)})
    assert rejected([first, second]) == 2


def test_a_webhooks_relay_must_be_seen_delivering_while_the_other_release_sends() -> None:
    mixed = {"sender-1": NEW, "sender-2": OLD, "webhooks-1": OLD}
    idle_new = _stretch(mixed, {"sender-1": Counter(), "sender-2": Counter(sent=9)})
    idle_new.done["webhooks-1"] = Counter(webhooks=9)
    checks = cross_checks([idle_new])
    assert not checks["a previous webhooks relay delivered events of current senders"]
    assert checks["a current webhooks relay delivered events of previous senders"] is False
    busy_new = _stretch(mixed, {"sender-1": Counter(sent=3), "webhooks-1": Counter(webhooks=3)})
    rolled = {"sender-1": NEW, "sender-2": OLD, "webhooks-1": NEW}
    old_writes = _stretch(rolled, {"sender-2": Counter(sent=2), "webhooks-1": Counter(webhooks=1)})
    checks = cross_checks([busy_new, old_writes])
    assert checks["a previous webhooks relay delivered events of current senders"]
    assert checks["a current webhooks relay delivered events of previous senders"]
