"""RSA signatures of DKIM made by OpenSSL (``cryptography``) instead of pure Python.

dkimpy computes RSA signatures with Python's ``pow`` on 1024-bit halves: about 10-20 ms of
CPU per message for a 2048-bit key, which alone would cap a sender core at 50-100
messages a second. OpenSSL makes the same PKCS #1 v1.5 signature (RFC 8017, the one
``rsa-sha256`` specifies) in well under a millisecond. :func:`install` replaces the one
function of dkimpy that does it, ``RSASSA_PKCS1_v1_5_sign(hash, private_key)``, keeping
its contract: the same hash object, the same parsed key, the same signature bytes (PKCS #1
v1.5 is deterministic, so both give identical output; a test checks it). Everything else
(canonicalization, header selection, the signature header) stays dkimpy's.

Keys are parsed and turned into OpenSSL keys once and kept (at most :data:`MAX_KEYS`).
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from typing import Any

import dkim
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa, utils

MAX_KEYS = 1024
_HASHES: dict[str, type[hashes.HashAlgorithm]] = {"sha256": hashes.SHA256, "sha1": hashes.SHA1}
_keys: OrderedDict[int, rsa.RSAPrivateKey] = OrderedDict()


def _openssl_key(pk: dict[str, Any]) -> rsa.RSAPrivateKey:
    modulus = int(pk["modulus"])
    key = _keys.get(modulus)
    if key is None:
        numbers = rsa.RSAPrivateNumbers(
            p=pk["prime1"],
            q=pk["prime2"],
            d=pk["privateExponent"],
            dmp1=pk["exponent1"],
            dmq1=pk["exponent2"],
            iqmp=pk["coefficient"],
            public_numbers=rsa.RSAPublicNumbers(pk["publicExponent"], modulus),
        )
        key = _keys[modulus] = numbers.private_key()
        while len(_keys) > MAX_KEYS:
            _keys.popitem(last=False)
    _keys.move_to_end(modulus)
    return key


def rsassa_pkcs1_v1_5_sign(hash: Any, private_key: dict[str, Any]) -> bytes:
    """dkimpy's ``RSASSA_PKCS1_v1_5_sign``, by OpenSSL."""
    algorithm = _HASHES[str(hash.name).lower()]()
    return _openssl_key(private_key).sign(
        hash.digest(), padding.PKCS1v15(), utils.Prehashed(algorithm)
    )


@functools.lru_cache(maxsize=MAX_KEYS)
def _parsed_private_key(pem: bytes) -> dict[str, Any]:
    # dkimpy parses the PEM (in pure Python, ~1 ms) on every signature; the parsed key is
    # only read, so one parse per key is kept.
    parsed: dict[str, Any] = _parse_pem_private_key(pem)
    return parsed


_parse_pem_private_key = dkim.parse_pem_private_key


def install() -> None:
    dkim.RSASSA_PKCS1_v1_5_sign = rsassa_pkcs1_v1_5_sign
    dkim.parse_pem_private_key = _parsed_private_key
