"""DKIM signatures made by MailPass verify with dkimpy, the reference implementation,
whatever the shape of the message: folded and repeated header fields, bare LF line
endings, whitespace that relaxed canonicalization ignores, an empty body; and the
private-key operations of a burst go to the signing thread in one hand-off."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import dkim as dkimpy
import pytest

from mailpass_common.mta import signature
from mailpass_common.mta.dkim import Algorithm, DkimKey, generate_key, record_value
from mailpass_common.mta.signing import PrivateOperations

DOMAIN = "shop.example.com"
KEYS = {algorithm: generate_key(algorithm) for algorithm in Algorithm}
SIGNING = [DkimKey(f"s{a.key_type}", a, KEYS[a].private_key) for a in Algorithm]


def dnsfunc(name: bytes, timeout: int = 5) -> bytes:
    selector = name.decode().split(".", 1)[0]
    algorithm = Algorithm.RSA if selector == "srsa" else Algorithm.ED25519
    return record_value(algorithm, KEYS[algorithm].public_key).encode()


def as_sent(message: bytes) -> bytes:
    """What SMTP's DATA carries (aiosmtplib): CRLF line endings, and a final CRLF."""
    data = re.sub(rb"\r\n|\n|\r(?!\n)", b"\r\n", message)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def verified(signed: bytes) -> list[bool]:
    """dkimpy's verdict on each signature of ``signed`` as a receiver gets it."""
    verifier = dkimpy.DKIM(as_sent(signed))
    count = sum(1 for h, _ in verifier.headers if h.lower() == b"dkim-signature")

    def one(index: int) -> bool:
        try:
            return bool(verifier.verify(idx=index, dnsfunc=dnsfunc))
        except dkimpy.ValidationError:  # dkimpy's word for a body that does not match
            return False

    return [one(i) for i in range(count)]


PLAIN = (
    b"From: Shop <orders@shop.example.com>\r\n"
    b"To: a@example.net\r\n"
    b"Subject: Your order\r\n"
    b"Message-ID: <1@shop.example.com>\r\n"
    b"\r\n"
    b"Thanks for your order.\r\n"
)
FOLDED = (
    b"From: Shop\r\n <orders@shop.example.com>\r\n"
    b"To: a@example.net,\r\n\tb@example.net\r\n"
    b"Cc: c@example.net\r\n"
    b"Subject:   Two   spaces\t and a tab   \r\n"
    b"Received: by relay\r\n"
    b"Reply-To: one@example.net\r\n"
    b"Reply-To: two@example.net\r\n"
    b"List-Unsubscribe: <https://u.example/x>,\r\n <mailto:u@example.net>\r\n"
    b"List-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n"
    b"MIME-Version: 1.0\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"\r\n"
    b"Trailing spaces   \r\n  inner    runs\t\there\r\n\r\n\r\n"
)


@pytest.mark.parametrize(
    "message",
    [
        PLAIN,
        FOLDED,
        PLAIN.replace(b"\r\n", b"\n"),  # bare LF: signed as CRLF, as SMTP sends it
        PLAIN.split(b"\r\n\r\n")[0] + b"\r\n\r\n",  # an empty body
        PLAIN.rstrip(b"\r\n") + b"   ",  # a body not ended by CRLF
        PLAIN.replace(b"Thanks", b"x" * 5000),  # a long line
        PLAIN.replace(b"example.net\r\n", b"example.net\n", 1),  # one bare LF among CRLFs
        PLAIN.replace(b"order.\r\n", b"order.\r\rmore\r\n"),  # a bare CR in the body
        PLAIN.replace(b"Your order", b"Your  order"),  # two spaces, no tab: relaxed
    ],
    ids=[
        "plain",
        "folded-repeated",
        "bare-lf",
        "empty-body",
        "no-final-crlf",
        "long",
        "mixed-endings",
        "bare-cr",
        "double-space",
    ],
)
def test_every_signature_verifies_with_dkimpy(message: bytes) -> None:
    signed = signature.sign(message, DOMAIN, SIGNING)
    assert signed.endswith(message)
    assert verified(signed) == [True, True]
    head = signed.split(b"\r\n\r\n", 1)[0] if b"\r\n" in signed else signed
    assert max(len(line) for line in re.split(rb"\r?\n", head)) <= 998


def test_what_is_signed_and_what_breaks_it() -> None:
    signed = signature.sign(FOLDED, DOMAIN, SIGNING)
    verifier = dkimpy.DKIM(signed)
    assert verifier.verify(idx=0, dnsfunc=dnsfunc)  # as signed, and as sent (below)
    fields = dict(verifier.signature_fields)
    assert fields[b"a"] == b"rsa-sha256" and fields[b"d"] == DOMAIN.encode()
    assert fields[b"c"] == b"relaxed/relaxed" and fields[b"s"] == b"srsa"
    names = [n.strip() for n in fields[b"h"].split(b":")]
    assert names.count(b"from") == 2  # oversigned
    assert names.count(b"reply-to") == 2 and b"received" not in names
    for header in (b"to", b"cc", b"subject", b"list-unsubscribe", b"list-unsubscribe-post"):
        assert header in names
    # Both signatures hash the same body.
    bodies = {
        dkimpy.util.parse_tag_value(re.sub(rb"\s+", b"", v))[b"bh"]
        for h, v in verifier.headers
        if h.lower() == b"dkim-signature"
    }
    assert len(bodies) == 1
    # Relaxed canonicalization: whitespace changes keep it valid; content changes do not.
    assert verified(signed.replace(b"Subject:   Two", b"Subject: Two")) == [True, True]
    assert verified(signed.replace(b"inner    runs", b"inner runs")) == [True, True]
    assert verified(signed.replace(b"Two   spaces", b"Three spaces")) == [False, False]
    assert verified(signed.replace(b"inner", b"outer")) == [False, False]
    assert verified(b"From: evil@example.org\r\n" + signed) == [False, False]


def test_no_key_no_from_or_a_bad_key_refuses_to_sign() -> None:
    with pytest.raises(ValueError):
        signature.sign(PLAIN, DOMAIN, [])
    with pytest.raises(ValueError):
        signature.sign(PLAIN.replace(b"From:", b"Sender:"), DOMAIN, SIGNING)
    with pytest.raises(ValueError):
        signature.sign(PLAIN, DOMAIN, [DkimKey("bad", Algorithm.RSA, b"not a key")])
    with pytest.raises(ValueError):
        signature.sign(PLAIN, DOMAIN, [DkimKey("bad", Algorithm.ED25519, b"c2hvcnQ=")])


async def test_a_burst_is_signed_in_one_hand_off_and_a_bad_key_fails_only_its_message(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    operations = PrivateOperations()
    hand_offs: list[int] = []
    submit = operations._executor.submit

    def counted(fn: Any, *args: Any) -> Any:
        hand_offs.append(len(args[-1]))
        return submit(fn, *args)

    monkeypatch.setattr(operations._executor, "submit", counted)
    messages = [PLAIN.replace(b"<1@", f"<{n}@".encode()) for n in range(20)]
    unsigned = [signature.prepare(m, DOMAIN, SIGNING) for m in messages]
    bad = [(DkimKey("bad", Algorithm.RSA, b"not a key"), b"data")]

    results = await asyncio.gather(
        *(operations.run(u.inputs) for u in unsigned[:10]),
        operations.run(bad),
        *(operations.run(u.inputs) for u in unsigned[10:]),
        return_exceptions=True,
    )

    assert hand_offs == [21]  # one hand-off for the whole burst
    assert isinstance(results[10], ValueError)
    good = [r for i, r in enumerate(results) if i != 10]
    for u, signatures in zip(unsigned, good, strict=True):
        assert not isinstance(signatures, BaseException)
        assert verified(u.signed(signatures)) == [True, True]
    # The next burst is a hand-off of its own.
    assert len(await operations.run(unsigned[0].inputs)) == 2
    assert hand_offs == [21, 1]
