"""DKIM's RSA signatures made by OpenSSL are dkimpy's own, byte for byte."""

from __future__ import annotations

import hashlib

from dkim import crypto

from mailpass_common.mta import dkim_openssl
from mailpass_common.mta.dkim import Algorithm, generate_key


def test_openssl_signature_is_dkimpys() -> None:
    key = crypto.parse_pem_private_key(generate_key(Algorithm.RSA).private_key)
    for name in ("sha256", "sha1"):
        digest = hashlib.new(name, b"canonical headers of a message")
        assert dkim_openssl.rsassa_pkcs1_v1_5_sign(digest, key) == crypto.RSASSA_PKCS1_v1_5_sign(
            digest, key
        )
