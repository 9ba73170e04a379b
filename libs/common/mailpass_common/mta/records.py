"""The DNS records a sending domain needs, and how what DNS answered compares with them.

Each record is ``{purpose, type, name, value, status, found, required, owner, advice}``:
``name``/``type``/``value`` are what to publish (TXT values as one string: DNS hosts split
long ones into 255-byte strings themselves), ``status`` is ``missing`` (nothing there),
``mismatch`` (something else there: ``found`` shows it) or ``verified``.

- ``dkim`` (required): ``TXT <selector>._domainkey.<domain>``, one per key. The domain is
  verified once its RSA record matches; the Ed25519 record adds a second signature.
- ``spf``: ``TXT <domain>`` ``v=spf1 include:<MTA_RETURN_PATH_DOMAIN> ~all`` (or that
  ``include`` added to the record the domain already has: one SPF record only).
- ``dmarc``: ``TXT _dmarc.<domain>``, any valid DMARC record (``p=none`` to start).
- ``return_path`` (the operator's): the envelope sender of every message is a signed
  VERP address on the installation's ``MTA_RETURN_PATH_DOMAIN`` (``mta.verp``), not on
  the tenant's domain, so the tenant publishes nothing for it; the row checks that this
  domain has an MX, i.e. that bounces can come back to ``mailpass-inbound``.

DMARC passes on DKIM alone: ``d=`` is the From domain, aligned; SPF is checked by
receivers on the return-path domain, which is never aligned with the tenant's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from mailpass_common.mta.dkim import Algorithm, RecordStatus, record_name, record_value
from mailpass_common.mta.lookup import MxAnswer, TxtAnswer
from mailpass_common.platform.db import Document

FOUND_LIMIT = 1024  # characters of what was found kept and shown
_SPF = re.compile(r"^v=spf1(\s|$)", re.IGNORECASE)
_DMARC = re.compile(r"^v\s*=\s*DMARC1\s*(;|$)", re.IGNORECASE)


@dataclass(frozen=True)
class Check:
    status: RecordStatus
    found: str | None


@dataclass(frozen=True)
class DnsRecord:
    purpose: str
    type: str
    name: str
    value: str
    status: str
    found: str | None
    required: bool
    owner: str  # "domain": the tenant publishes it; "operator": the installation's
    advice: str

    def view(self) -> dict[str, Any]:
        return asdict(self)


def _found(records: Sequence[str]) -> str | None:
    return " | ".join(records)[:FOUND_LIMIT] or None


def _tags(record: str) -> dict[str, str]:
    """A DKIM or DMARC tag list, leniently: unknown or malformed parts are skipped."""
    tags: dict[str, str] = {}
    for part in record.split(";")[:64]:
        name, sep, value = part.partition("=")
        if sep:
            tags.setdefault(name.strip().lower(), value.strip())
    return tags


def check_dkim(answer: TxtAnswer, algorithm: Algorithm, public_key: str) -> Check | None:
    """The key's record against the answer; None when the look-up failed."""
    if answer.error is not None:
        return None
    if not answer.records:
        return Check(RecordStatus.MISSING, None)
    found = _found(answer.records)
    if len(answer.records) != 1 or answer.oversized:
        return Check(RecordStatus.MISMATCH, found)
    tags = _tags(answer.records[0])
    matches = (
        tags.get("v", "DKIM1") == "DKIM1"
        and tags.get("k", "rsa").lower() == algorithm.key_type
        and re.sub(r"\s+", "", tags.get("p", "")) == public_key
    )
    return Check(RecordStatus.VERIFIED if matches else RecordStatus.MISMATCH, found)


def check_spf(answer: TxtAnswer, return_path_domain: str) -> Check | None:
    if answer.error is not None:
        return None
    spf = [r for r in answer.records if _SPF.match(r.strip())]
    if not spf:
        return Check(RecordStatus.MISSING, None)
    terms = {t.lower().lstrip("+") for t in spf[0].split()}
    wanted = {f"include:{return_path_domain}", f"redirect={return_path_domain}"}
    ok = len(spf) == 1 and not answer.oversized and bool(terms & wanted)
    return Check(RecordStatus.VERIFIED if ok else RecordStatus.MISMATCH, _found(spf))


def check_dmarc(answer: TxtAnswer) -> Check | None:
    if answer.error is not None:
        return None
    dmarc = [r for r in answer.records if _DMARC.match(r.strip())]
    if not dmarc:
        return Check(RecordStatus.MISSING, None)
    policy = _tags(dmarc[0]).get("p", "").lower()
    ok = len(dmarc) == 1 and policy in ("none", "quarantine", "reject")
    return Check(RecordStatus.VERIFIED if ok else RecordStatus.MISMATCH, _found(dmarc))


def check_return_path(answer: MxAnswer) -> Check | None:
    if answer.error is not None:
        return None
    if not answer.hosts:
        return Check(RecordStatus.MISSING, None)
    found = _found([f"{pref} {host or '.'}" for pref, host in answer.hosts])
    usable = [host for _, host in answer.hosts if host not in ("", ".")]
    return Check(RecordStatus.VERIFIED if usable else RecordStatus.MISMATCH, found)


_ADVICE = {
    ("dkim", RecordStatus.MISSING): "Publish this TXT record.",
    ("dkim", RecordStatus.MISMATCH): "Another record is published at this name: "
    "replace it with this value (one TXT record only).",
    ("spf", RecordStatus.MISSING): "Publish this TXT record.",
    ("spf", RecordStatus.MISMATCH): "Keep one SPF record, and add include:{rp} to it "
    "before its all term.",
    ("dmarc", RecordStatus.MISSING): "Publish a DMARC record: p=none to start, "
    "quarantine or reject once reports show only your mail.",
    ("dmarc", RecordStatus.MISMATCH): "Keep exactly one valid DMARC record "
    "(v=DMARC1 with p=none, quarantine or reject).",
    ("return_path", RecordStatus.MISSING): "Nothing for you to publish: bounces come "
    "back to {rp}, which needs an MX pointing at mailpass-inbound (ask the operator).",
    ("return_path", RecordStatus.MISMATCH): "{rp} refuses mail (null MX): bounces "
    "cannot come back (ask the operator).",
}


def _record(
    purpose: str,
    type_: str,
    name: str,
    value: str,
    stored: Document | None,
    *,
    required: bool,
    owner: str = "domain",
    return_path_domain: str = "",
    note: str = "",
) -> DnsRecord:
    stored = stored or {}
    status = RecordStatus(stored.get("status", RecordStatus.MISSING))
    advice = _ADVICE.get((purpose, status), "").format(rp=return_path_domain)
    return DnsRecord(
        purpose=purpose,
        type=type_,
        name=name,
        value=value,
        status=status.value,
        found=stored.get("found"),
        required=required,
        owner=owner,
        advice=" ".join(p for p in (advice, note) if p),
    )


def domain_records(
    doc: Document, keys: Sequence[Document], return_path_domain: str
) -> list[DnsRecord]:
    """The records of ``doc`` with their last known status (``verify`` refreshes them).
    Without a ``return_path_domain`` (MTA_RETURN_PATH_DOMAIN unset) there is no SPF
    record to ask for, and no return path."""
    domain = doc["domain"]
    newest = max((int(k["generation"]) for k in keys), default=0)
    records = []
    for key in keys:
        algorithm = Algorithm(key["algorithm"])
        note = ""
        if int(key["generation"]) < newest:
            note = "Signing until the new key's record verifies; remove it after."
        elif algorithm is Algorithm.ED25519 and key.get("status") != RecordStatus.VERIFIED:
            note = "A second signature (Ed25519), added once this record verifies."
        records.append(
            _record(
                "dkim",
                "TXT",
                record_name(key["selector"], domain),
                record_value(algorithm, key["public_key"]),
                key,
                required=algorithm is Algorithm.RSA and int(key["generation"]) == newest,
                note=note,
            )
        )
    checks = doc.get("checks") or {}
    if return_path_domain:
        records.append(
            _record(
                "spf",
                "TXT",
                domain,
                f"v=spf1 include:{return_path_domain} ~all",
                checks.get("spf"),
                required=False,
                return_path_domain=return_path_domain,
            )
        )
    records.append(
        _record(
            "dmarc",
            "TXT",
            f"_dmarc.{domain}",
            "v=DMARC1; p=none",
            checks.get("dmarc"),
            required=False,
        )
    )
    if return_path_domain:
        records.append(
            _record(
                "return_path",
                "MX",
                return_path_domain,
                "",
                checks.get("return_path"),
                required=False,
                owner="operator",
                return_path_domain=return_path_domain,
            )
        )
    return records
