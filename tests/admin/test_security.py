from __future__ import annotations

import hashlib

import pytest

from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.tenants.api_keys import generate_api_key, hash_api_key


def test_live_and_test_keys_have_their_prefix_and_enough_randomness() -> None:
    live, test = generate_api_key(), generate_api_key(test=True)
    assert live.key.startswith("mp_live_") and test.key.startswith("mp_test_")
    assert len(live.key) == len(test.key) == len("mp_live_") + 32
    keys = {generate_api_key().key for _ in range(200)}
    assert len(keys) == 200


def test_key_is_stored_as_its_sha256_and_the_hash_never_contains_the_key() -> None:
    new = generate_api_key()
    assert new.key_hash == hashlib.sha256(new.key.encode()).hexdigest() == hash_api_key(new.key)
    assert new.key not in new.key_hash
    assert new.display_prefix == new.key[:12]
    assert hash_api_key(new.key + "x") != new.key_hash


def test_credentials_round_trip_and_are_not_readable_at_rest() -> None:
    cipher = CredentialCipher("secret-one")
    token = cipher.encrypt({"password": "hunter2"})
    assert "hunter2" not in token
    assert cipher.decrypt(token) == {"password": "hunter2"}
    assert cipher.decrypt(None) == {}
    with pytest.raises(ValueError, match="SECRET_KEY"):
        CredentialCipher("another-secret").decrypt(token)
