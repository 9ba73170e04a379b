"""DKIM-Signature header fields (RFC 6376, RFC 8463) for what MailPass SMTP sends.

Every signature is ``relaxed/relaxed`` with SHA-256 (``rsa-sha256`` and
``ed25519-sha256``), ``d=`` the From domain, over :data:`~mailpass_common.mta.dkim.SIGNED_HEADERS`
as present and From once more (oversigned: no From can be added after signing).

Why not dkimpy's ``sign`` (dkimpy stays the reference: the tests verify every signature
with it): it parses the message and canonicalizes and hashes the body once per
signature, in pure Python, and parses the key each time. In a sender that was most of
MailPass SMTP's CPU per message, twice what the rest of the pipeline costs (``make bench``,
MTA path). Here a message is parsed once, its body canonicalized and hashed once (both
signatures share ``bh=``: same canonicalization, same hash), its signed header fields
canonicalized once, and each key is loaded once per process (:attr:`DkimKey.signing_key`).
What remains is the RSA signature itself.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from mailpass_common.mta.dkim import OVERSIGNED_HEADERS, SIGNED_HEADERS, DkimKey
from mailpass_common.mta.names import normalize_domain

CRLF = b"\r\n"
MAX_LINE = 78  # folded as RFC 5322 §2.1.1 asks ("SHOULD be no more than 78 characters")
# What aiosmtplib sends for any line ending (RFC 5321 needs CRLF): what receivers hash.
_LINE_ENDING = re.compile(rb"\r\n|\n|\r(?!\n)")
_WSP = re.compile(rb"[ \t]+")
_WSP_AT_LINE_END = re.compile(rb"[ \t]+(?=\r\n|\Z)")
_FOLDING = re.compile(rb"\r\n(?=[ \t])")
_FIELD_END = re.compile(rb"\r\n(?![ \t])")


def sign(message: bytes, domain: str, keys: Sequence[DkimKey]) -> bytes:
    """``message`` with one DKIM-Signature per key prepended (module docstring).
    ValueError when there is no key, no From header, or a key that cannot sign: mail must
    not leave unsigned by mistake."""
    unsigned = prepare(message, domain, keys)
    return unsigned.signed([private_operation(key, data) for key, data in unsigned.inputs])


@dataclass(frozen=True)
class Unsigned:
    """A message and its DKIM-Signature fields but for their ``b=``: what is left is the
    private-key operations (:attr:`inputs`, one per key), which may run elsewhere."""

    message: bytes
    linesep: bytes
    fields: tuple[bytes, ...]  # each DKIM-Signature field, folded, up to "b="
    inputs: tuple[tuple[DkimKey, bytes], ...]  # (key, the data its signature covers)

    def signed(self, signatures: Sequence[bytes]) -> bytes:
        """The message with its signatures (one per input, in order) prepended."""
        headers = b""
        for unsigned, signature in zip(self.fields, signatures, strict=True):
            header = unsigned + _fold_b(signature, unsigned)
            headers += header.replace(CRLF, self.linesep) + self.linesep
        return headers + self.message


def prepare(message: bytes, domain: str, keys: Sequence[DkimKey]) -> Unsigned:
    """Everything of the signatures but the private-key operations (ValueError as ``sign``)."""
    if not keys:
        raise ValueError("no DKIM key to sign with")
    data = _crlf(message)
    head, separator, body = data.partition(CRLF + CRLF)
    if not separator:  # no body: the header ends at the last CRLF
        head, body = data.removesuffix(CRLF), b""
    fields = _fields(head + CRLF)
    names = [name for name, _ in fields]
    include = [h.encode() for h in SIGNED_HEADERS for _ in range(names.count(h.encode()))]
    include += [h.encode() for h in OVERSIGNED_HEADERS if h.encode() in names]
    if b"from" not in include:
        raise ValueError("the message has no From header to sign")
    signed = _selected(fields, include)
    body_hash = base64.b64encode(hashlib.sha256(relaxed_body(body)).digest()).decode()
    common = (
        f"c=relaxed/relaxed; d={_signing_domain(domain)}; t={int(time.time())}; "
        f"h={' : '.join(h.decode() for h in include)}; bh={body_hash}; b="
    )
    linesep = CRLF if CRLF in message[:4096] or b"\n" not in message[:4096] else b"\n"
    unsigned_fields: list[bytes] = []
    inputs: list[tuple[DkimKey, bytes]] = []
    for key in keys:
        key.signing_key  # noqa: B018 (a key that cannot sign fails here, not in a worker)
        unsigned = _fold(
            f"DKIM-Signature: v=1; a={key.algorithm.value}; s={key.selector}; {common}"
        )
        name, _, value = unsigned.partition(b":")
        canonical = _relaxed_header(name, value).removesuffix(CRLF)
        unsigned_fields.append(unsigned)
        inputs.append((key, signed + canonical))
    return Unsigned(message, linesep, tuple(unsigned_fields), tuple(inputs))


def _crlf(message: bytes) -> bytes:
    """``message`` with every line ending CRLF; as it is (no copy) when it already is, as
    what MailPass builds always is (three scans in C instead of a substitution)."""
    crlf = message.count(CRLF)
    if message.count(b"\n") == crlf and message.count(b"\r") == crlf:
        return message
    return _LINE_ENDING.sub(CRLF, message)


def relaxed_body(body: bytes) -> bytes:
    """The ``relaxed`` body canonicalization (RFC 6376 §3.4.4) of a CRLF body, ended with
    CRLF as SMTP's DATA sends it."""
    if body and not body.endswith(CRLF):
        body += CRLF
    text = body
    if b"\t" in text or b"  " in text:  # the scans are cheap; the substitutions are not
        text = _WSP.sub(b" ", text)
    if b" \r\n" in text:
        text = _WSP_AT_LINE_END.sub(b"", text)
    text = text.rstrip(CRLF)
    return text + CRLF if text else b""


def _fields(head: bytes) -> list[tuple[bytes, bytes]]:
    """The header fields in order: (lower-case name, the field as it is written)."""
    fields = []
    for raw in _FIELD_END.split(head)[:-1]:
        name, colon, _ = raw.partition(b":")
        if not colon:
            raise ValueError("the message has a header line that is no header field")
        fields.append((name.strip().lower(), raw))
    return fields


def _relaxed_header(name: bytes, value: bytes) -> bytes:
    """``relaxed`` header canonicalization (RFC 6376 §3.4.2), CRLF-terminated."""
    if b"\r" in value:
        value = _FOLDING.sub(b"", value)
    if b"\t" in value or b"  " in value:  # the scans are cheap; the substitution is not
        value = _WSP.sub(b" ", value)
    value = value.strip(b" ")
    return name.strip(b" \t").lower() + b":" + value + CRLF


def _selected(fields: list[tuple[bytes, bytes]], include: list[bytes]) -> bytes:
    """The canonical fields ``h=`` names, each name's instances from the bottom up
    (§5.4.2); a name listed more times than it is present adds nothing."""
    remaining: dict[bytes, list[bytes]] = {}
    for name, raw in fields:
        remaining.setdefault(name, []).append(raw)
    out = b""
    for name in include:
        instances = remaining.get(name)
        if instances:
            field_name, _, value = instances.pop().partition(b":")
            out += _relaxed_header(field_name, value)
    return out


def private_operation(key: DkimKey, signed: bytes) -> bytes:
    """The signature of ``signed`` (its canonical header fields) by ``key``: C code that
    does not hold the GIL for RSA."""
    private = key.signing_key
    if isinstance(private, rsa.RSAPrivateKey):
        return private.sign(signed, padding.PKCS1v15(), hashes.SHA256())
    # ed25519-sha256 signs the SHA-256 digest of the data (RFC 8463 §3).
    return private.sign(hashlib.sha256(signed).digest())


def _fold(header: str) -> bytes:
    """``header`` folded at its spaces into lines of at most MAX_LINE characters: each fold
    puts CRLF before a space that is there anyway, so unfolded it is the same text."""
    lines: list[str] = []
    line = ""
    for word in header.split(" "):
        if line and len(line) + 1 + len(word) > MAX_LINE:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    lines.append(line)
    return "\r\n ".join(lines).encode("ascii")


def _fold_b(signature: bytes, unsigned: bytes) -> bytes:
    """The ``b=`` value (base64) to append, folded (FWS inside it is ignored, §3.5)."""
    value = base64.b64encode(signature)
    room = max(MAX_LINE - len(unsigned.rsplit(CRLF, 1)[-1]), 0)
    rest = value[room:]
    step = MAX_LINE - 1
    return value[:room] + b"".join(b"\r\n " + rest[i : i + step] for i in range(0, len(rest), step))


@functools.lru_cache(maxsize=4096)
def _signing_domain(domain: str) -> str:
    return normalize_domain(domain)
