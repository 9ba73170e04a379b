"""Sending domains and DKIM in the library, on real parts: nx-27017, the tests' DNS server
(unbound), dkimpy verifying what MailPass signed."""

from __future__ import annotations

import re
from email.message import EmailMessage
from typing import Any

import dkim as dkimpy
import dns.asyncresolver
import pytest

from mailpass_common.mta import dkim, domains, lookup, signature
from mailpass_common.mta.records import domain_records
from mailpass_common.mta.resolver import make_resolver
from mailpass_common.mta.signing import DkimSigner
from mailpass_common.mta.verification import verify_domain
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.db import Collections, Database
from mailpass_common.providers.credential_rotation import reencrypt_credentials
from tests.domains.support import RETURN_PATH_DOMAIN, dkimpy_dns, publish, unique_domain
from tests.support.dns import TestDns

CIPHER = CredentialCipher("k" * 40)


def message(sender: str, **extra: str) -> bytes:
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = "someone@example.org"
    msg["Subject"] = "Your receipt"
    msg["Date"] = "Sun, 06 Dec 2026 20:00:00 +0000"
    msg["Message-ID"] = "<0123456789abcdef01234567.1765051200@mailpass.test>"
    for name, value in extra.items():
        msg[name.replace("_", "-")] = value
    msg.set_content("Thank you.\n")
    return msg.as_bytes(policy=msg.policy.clone(linesep="\r\n"))


async def records_of(db: Database, doc: dict[str, Any]) -> list[dict[str, Any]]:
    keys = await dkim.domain_keys(db, str(doc["account_id"]), str(doc["domain"]))
    return [r.view() for r in domain_records(doc, keys, RETURN_PATH_DOMAIN)]


async def test_a_domain_verifies_once_its_dkim_record_matches_and_then_signs(
    db: Database, dns: TestDns
) -> None:
    name = unique_domain()
    doc = await domains.create_domain(db, CIPHER, "acct_a", name)
    records = await records_of(db, doc)
    assert [r["purpose"] for r in records] == ["dkim", "dkim", "spf", "dmarc", "return_path"]
    rsa_record, ed_record = records[0], records[1]
    assert re.fullmatch(rf"mp[a-z2-7]{{8}}r\._domainkey\.{re.escape(name)}", rsa_record["name"])
    assert str(rsa_record["value"]).startswith("v=DKIM1; k=rsa; p=MIIBIjAN")  # RSA 2048
    assert str(ed_record["value"]).startswith("v=DKIM1; k=ed25519; p=")
    assert {r["status"] for r in records} == {"missing"}

    # The private keys are encrypted at rest, and only SECRET_KEY decrypts them.
    stored = await db[Collections.DKIM_KEYS].find({}).to_list()
    assert len(stored) == 2 and all("PRIVATE" not in str(k) for k in stored)
    assert "RSA PRIVATE KEY" in CIPHER.decrypt(stored[0]["secret"])["private_key"]
    with pytest.raises(ValueError):
        CredentialCipher("another secret key of enough length").decrypt(stored[0]["secret"])

    resolver = make_resolver([dns.nameserver])
    checked = await verify_domain(db, resolver, doc, RETURN_PATH_DOMAIN)
    assert checked.domain["status"] == "pending" and checked.lookup_errors == []
    assert await domains.verified_domain(db, "acct_a", name) is None
    assert await dkim.signing_keys(db, CIPHER, "acct_a", name) == []

    publish(dns, records, "dkim")
    checked = await verify_domain(db, resolver, doc, RETURN_PATH_DOMAIN)
    assert checked.domain["status"] == "verified"
    assert checked.domain["verified_at"] is not None
    found = await domains.verified_domain(db, "acct_a", name.upper())
    assert found is not None and found.id == doc["_id"] and found.status == "verified"
    assert await domains.verified_domain(db, "acct_b", name) is None  # another account's
    assert await domains.verified_domain(db, "acct_a", "not a domain") is None

    keys = await dkim.signing_keys(db, CIPHER, "acct_a", name)
    assert [k.algorithm for k in keys] == [dkim.Algorithm.RSA, dkim.Algorithm.ED25519]
    assert "PRIVATE" not in repr(keys)
    signed = signature.sign(
        message(
            f"Shop <orders@{name}>",
            List_Unsubscribe="<https://u.example/x>",
            List_Unsubscribe_Post="List-Unsubscribe=One-Click",
        ),
        name,
        keys,
    )
    verifier = dkimpy.DKIM(signed)
    dnsfunc = dkimpy_dns(dns.nameserver)
    assert verifier.verify(idx=0, dnsfunc=dnsfunc) and verifier.verify(idx=1, dnsfunc=dnsfunc)
    signatures = [v for h, v in verifier.headers if h.lower() == b"dkim-signature"]
    assert len(signatures) == 2
    fields = dkimpy.util.parse_tag_value(re.sub(rb"\s+", b"", signatures[0]))
    assert fields[b"d"] == name.encode() and fields[b"c"] == b"relaxed/relaxed"
    signed_headers = fields[b"h"].split(b":")
    assert signed_headers.count(b"from") == 2  # oversigned: no From can be added
    for header in (
        b"to",
        b"subject",
        b"date",
        b"message-id",
        b"mime-version",
        b"content-type",
        b"list-unsubscribe",
        b"list-unsubscribe-post",
    ):
        assert header in signed_headers

    # A header added or changed after signing breaks every signature.
    tampered = signed.replace(b"Subject: Your receipt", b"Subject: Your refund")
    assert not dkimpy.DKIM(tampered).verify(idx=0, dnsfunc=dnsfunc)
    tampered = b"From: evil@attacker.test\r\n" + signed
    assert not dkimpy.DKIM(tampered).verify(idx=0, dnsfunc=dnsfunc)


async def test_rotation_keeps_the_old_key_signing_until_the_new_record_verifies(
    db: Database, dns: TestDns
) -> None:
    name = unique_domain()
    resolver = make_resolver([dns.nameserver])
    doc = await domains.create_domain(db, CIPHER, "acct_a", name)
    publish(dns, await records_of(db, doc), "dkim")
    await verify_domain(db, resolver, doc, RETURN_PATH_DOMAIN)
    old = {k.selector for k in await dkim.signing_keys(db, CIPHER, "acct_a", name)}

    rotated = await domains.rotate_dkim(db, CIPHER, "acct_a", str(doc["_id"]))
    assert rotated is not None and rotated["generation"] == 2
    records = await records_of(db, rotated)
    dkim_names = [r["name"] for r in records if r["purpose"] == "dkim"]
    assert len(dkim_names) == 4  # both generations shown while the old one signs
    assert {k.selector for k in await dkim.signing_keys(db, CIPHER, "acct_a", name)} == old

    checked = await verify_domain(db, resolver, rotated, RETURN_PATH_DOMAIN)
    assert checked.domain["status"] == "verified"  # the old record still verifies
    assert {k.selector for k in await dkim.signing_keys(db, CIPHER, "acct_a", name)} == old

    # A second rotation before the first verified replaces its keys, not the signing ones.
    again = await domains.rotate_dkim(db, CIPHER, "acct_a", str(doc["_id"]))
    assert again is not None
    keys = await dkim.domain_keys(db, "acct_a", name)
    assert sorted(k["generation"] for k in keys) == [1, 1, 3, 3]

    publish(dns, [r for r in await records_of(db, again) if r["status"] == "missing"], "dkim")
    checked = await verify_domain(db, resolver, again, RETURN_PATH_DOMAIN)
    assert [k["generation"] for k in checked.keys] == [3, 3]  # the old keys are gone
    new = await dkim.signing_keys(db, CIPHER, "acct_a", name)
    assert {k.selector for k in new}.isdisjoint(old) and len(new) == 2
    signed = signature.sign(message(f"orders@{name}"), name, new)
    assert dkimpy.verify(signed, dnsfunc=dkimpy_dns(dns.nameserver))


async def test_what_dns_answers_is_compared_and_shown(db: Database, dns: TestDns) -> None:
    name = unique_domain()
    resolver = make_resolver([dns.nameserver])
    doc = await domains.create_domain(db, CIPHER, "acct_a", name)
    records = await records_of(db, doc)
    other = dkim.generate_key(dkim.Algorithm.RSA)
    dns.add(str(records[0]["name"]), "TXT", dkim.record_value(dkim.Algorithm.RSA, other.public_key))
    dns.add(name, "TXT", "v=spf1 include:_spf.google.com ~all")
    dns.add(f"_dmarc.{name}", "TXT", "v=DMARC1; p=reject; rua=mailto:d@" + name)
    dns.add(RETURN_PATH_DOMAIN, "MX", "10 inbound.mailpass.test.")
    checked = await verify_domain(db, resolver, doc, RETURN_PATH_DOMAIN)
    shown = await records_of(db, checked.domain)
    by_purpose = {r["purpose"]: r for r in reversed(shown)}  # the first of each: RSA's
    assert checked.domain["status"] == "pending"
    assert by_purpose["dkim"]["status"] == "mismatch"
    assert other.public_key in str(by_purpose["dkim"]["found"])
    assert by_purpose["spf"]["status"] == "mismatch"
    assert f"include:{RETURN_PATH_DOMAIN}" in str(by_purpose["spf"]["advice"])
    assert by_purpose["dmarc"]["status"] == "verified"
    assert by_purpose["return_path"] == {
        **by_purpose["return_path"],
        "status": "verified",
        "found": "10 inbound.mailpass.test",
        "owner": "operator",
    }

    dns.add(name, "TXT", f"v=spf1 include:{RETURN_PATH_DOMAIN} ~all")  # now two SPF records
    checked = await verify_domain(db, resolver, doc, RETURN_PATH_DOMAIN)
    spf = next(r for r in await records_of(db, checked.domain) if r["purpose"] == "spf")
    assert spf["status"] == "mismatch"
    dns.remove(name)
    dns.add(name, "TXT", f"v=spf1 a mx include:{RETURN_PATH_DOMAIN} -all")
    checked = await verify_domain(db, resolver, doc, RETURN_PATH_DOMAIN)
    spf = next(r for r in await records_of(db, checked.domain) if r["purpose"] == "spf")
    assert spf["status"] == "verified"


async def test_hostile_or_failing_dns_never_raises_nor_unverifies(
    db: Database, dns: TestDns, monkeypatch: pytest.MonkeyPatch
) -> None:
    name = unique_domain()
    doc = await domains.create_domain(db, CIPHER, "acct_a", name)
    records = await records_of(db, doc)
    publish(dns, records, "dkim")
    resolver = make_resolver([dns.nameserver])
    await verify_domain(db, resolver, doc, RETURN_PATH_DOMAIN)

    # A server that never answers: every look-up times out, every status is kept.
    silent = make_resolver(["127.0.0.1:9"], timeout=0.2, lifetime=0.4)
    checked = await verify_domain(db, silent, doc, RETURN_PATH_DOMAIN)
    assert checked.domain["status"] == "verified"
    assert len(checked.lookup_errors) == 5
    assert await domains.verified_domain(db, "acct_a", name) is not None

    # Oversized and binary answers are cut, cleaned and never match (the limit lowered
    # to what unbound-control takes in one line).
    monkeypatch.setattr(lookup, "MAX_TXT_CHARS", 600)
    dns.remove(str(records[0]["name"]), f"_dmarc.{name}")
    dns.add(str(records[0]["name"]), "TXT", str(records[0]["value"]) + "A" * 300)
    dns.add(f"_dmarc.{name}", "TXT", '"v=DMARC1; p=none\\000\\007\\255"')
    checked = await verify_domain(db, resolver, doc, RETURN_PATH_DOMAIN)
    shown = {r["purpose"]: r for r in reversed(await records_of(db, checked.domain))}
    assert checked.domain["status"] == "pending"
    assert shown["dkim"]["status"] == "mismatch" and len(str(shown["dkim"]["found"])) == 600
    assert "\x00" not in str(shown["dmarc"]["found"]) and "\x07" not in str(shown["dmarc"]["found"])


async def test_secret_key_rotation_reencrypts_dkim_keys(db: Database, dns: TestDns) -> None:
    name = unique_domain()
    doc = await domains.create_domain(db, CIPHER, "acct_a", name)
    publish(dns, await records_of(db, doc), "dkim")
    await verify_domain(db, make_resolver([dns.nameserver]), doc, RETURN_PATH_DOMAIN)
    rotated_cipher = CredentialCipher("n" * 40, previous=["k" * 40])
    before = await dkim.signing_keys(db, rotated_cipher, "acct_a", name)  # previous decrypts
    report = await reencrypt_credentials(db, rotated_cipher)
    assert report.reencrypted == 2 and report.undecryptable == []
    after = await dkim.signing_keys(db, CredentialCipher("n" * 40), "acct_a", name)
    assert after == before


async def test_duplicates_limits_and_removal(db: Database) -> None:
    name = unique_domain()
    doc = await domains.create_domain(db, CIPHER, "acct_a", name)
    with pytest.raises(domains.DomainExistsError):
        await domains.create_domain(db, CIPHER, "acct_a", name)
    other = await domains.create_domain(db, CIPHER, "acct_b", name)  # each proves it by DNS
    assert await domains.get_domain(db, "acct_b", str(doc["_id"])) is None
    assert not await domains.delete_domain(db, "acct_b", str(doc["_id"]))
    assert await domains.delete_domain(db, "acct_a", str(doc["_id"]))
    assert await dkim.domain_keys(db, "acct_a", name) == []
    assert len(await dkim.domain_keys(db, "acct_b", name)) == 2
    assert (await domains.list_domains(db, "acct_b"))[0]["_id"] == other["_id"]


async def test_the_senders_signer_uses_the_domains_keys(db: Database, dns: TestDns) -> None:
    """What MailPass SMTP's sender does with a message (mta.signing.DkimSigner): the keys
    of the account's verified domain sign it, and dkimpy verifies it against DNS."""
    name = unique_domain()
    doc = await domains.create_domain(db, CIPHER, "acct_a", name)
    signer = DkimSigner(db, CIPHER, ttl_seconds=0)
    with pytest.raises(LookupError):  # not verified yet: it fails rather than send unsigned
        await signer.sign("acct_a", name, message(f"orders@{name}"))
    publish(dns, await records_of(db, doc), "dkim")
    await verify_domain(db, make_resolver([dns.nameserver]), doc, RETURN_PATH_DOMAIN)
    signed = await signer.sign("acct_a", name, message(f"orders@{name}"))
    verifier = dkimpy.DKIM(signed)
    dnsfunc = dkimpy_dns(dns.nameserver)
    assert verifier.verify(idx=0, dnsfunc=dnsfunc) and verifier.verify(idx=1, dnsfunc=dnsfunc)
    with pytest.raises(LookupError):  # another account's signer has no key for it
        await signer.sign("acct_b", name, message(f"orders@{name}"))


async def test_without_any_resolver_a_verify_reports_failed_look_ups(db: Database) -> None:
    doc = await domains.create_domain(db, CIPHER, "acct_a", unique_domain())
    resolver = dns.asyncresolver.Resolver(configure=False)  # what no resolv.conf leaves
    checked = await verify_domain(db, resolver, doc, RETURN_PATH_DOMAIN)
    assert checked.domain["status"] == "pending" and len(checked.lookup_errors) == 5
