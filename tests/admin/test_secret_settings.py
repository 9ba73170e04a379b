"""Production settings fail closed; old keys keep verifying and decrypting while rotated out."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from mailpass_common.messages.signed_links import TrackedClick, TrackingSigner
from mailpass_common.platform.crypto import CredentialCipher
from mailpass_common.platform.settings import DEV_SECRET, CommonSettings

OLD, NEW = "o" * 32, "n" * 32


@pytest.fixture
def deployment(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """An environment that sets nothing, as a careless deployment would."""
    for name in ("ENVIRONMENT", "SECRET_KEY", "SECRET_KEY_PREVIOUS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_a_deployment_that_sets_nothing_refuses_to_start(deployment: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValidationError, match=r"SECRET_KEY is not set \(ENVIRONMENT=production\)"):
        CommonSettings()


@pytest.mark.parametrize("secret", ["x" * 31, "é" * 15, DEV_SECRET])
def test_short_or_public_secrets_are_refused_outside_development(
    deployment: pytest.MonkeyPatch, secret: str
) -> None:
    deployment.setenv("SECRET_KEY", secret)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        CommonSettings()
    deployment.setenv("ENVIRONMENT", "staging")  # anything but development is production
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        CommonSettings()


def test_a_32_byte_secret_is_enough(deployment: pytest.MonkeyPatch) -> None:
    deployment.setenv("SECRET_KEY", "é" * 16)  # 32 bytes in UTF-8
    assert CommonSettings().environment == "production"


def test_development_must_be_said_explicitly(deployment: pytest.MonkeyPatch) -> None:
    deployment.setenv("ENVIRONMENT", "development")
    assert CommonSettings().secret_key.get_secret_value() == DEV_SECRET


def test_previous_keys_are_comma_separated_and_need_no_length(
    deployment: pytest.MonkeyPatch,
) -> None:
    deployment.setenv("SECRET_KEY", NEW)
    deployment.setenv("SECRET_KEY_PREVIOUS", f"{OLD}, weak-old-key")
    assert CommonSettings().previous_secrets() == (OLD, "weak-old-key")


def test_credentials_under_an_old_key_decrypt_and_are_reencrypted_under_the_new() -> None:
    token = CredentialCipher(OLD).encrypt({"password": "hunter2"})
    rotating = CredentialCipher(NEW, [OLD])
    assert rotating.decrypt(token) == {"password": "hunter2"}
    assert not rotating.is_current(token)
    fresh = rotating.reencrypt(token)
    assert rotating.is_current(fresh)
    assert CredentialCipher(NEW).decrypt(fresh) == {"password": "hunter2"}
    with pytest.raises(ValueError, match="SECRET_KEY_PREVIOUS"):
        CredentialCipher(NEW).decrypt(token)
    assert rotating.encrypt({}) and rotating.is_current(rotating.encrypt({}))


def test_tracking_links_signed_with_an_old_key_verify_while_it_is_listed() -> None:
    old_link = TrackingSigner(OLD).click_token("<m@x>", 0, "https://example.com/a")
    assert TrackingSigner(NEW, [OLD]).verify(old_link) == TrackedClick(
        "<m@x>", 0, "https://example.com/a"
    )
    assert TrackingSigner(NEW).verify(old_link) is None
    # New links carry the new key only.
    new_link = TrackingSigner(NEW, [OLD]).click_token("<m@x>", 0, "https://example.com/a")
    assert TrackingSigner(OLD).verify(new_link) is None
