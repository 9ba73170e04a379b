"""Signed tracking tokens: round trips, tampering, garbage, and target validation."""

from __future__ import annotations

import base64
import random
import string
import time

import pytest

from mailpass_common.messages.signed_links import (
    MAX_MESSAGE_ID_BYTES,
    MAX_TARGET_BYTES,
    MAX_TOKEN_LENGTH,
    TAG_LENGTH,
    TrackedClick,
    TrackedOpen,
    TrackingSigner,
    normalize_target,
)

MESSAGE_ID = "<0123456789abcdef01234567.1700000000@mail.example.com>"
TARGET = "https://shop.example.com/p/42?utm_source=mail&ref=ä#top"
# What the token carries: the URL a browser goes to, in ASCII.
SIGNED_TARGET = "https://shop.example.com/p/42?utm_source=mail&ref=%C3%A4#top"


@pytest.fixture
def signer() -> TrackingSigner:
    return TrackingSigner("test-secret")


def _raw(token: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _token(raw: bytes | bytearray) -> str:
    return base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()


def test_open_token_round_trip(signer: TrackingSigner) -> None:
    assert signer.verify(signer.open_token(MESSAGE_ID)) == TrackedOpen(MESSAGE_ID)


def test_click_token_round_trip(signer: TrackingSigner) -> None:
    token = signer.click_token(MESSAGE_ID, 7, TARGET)
    assert signer.verify(token) == TrackedClick(MESSAGE_ID, 7, SIGNED_TARGET)


def test_tokens_are_url_safe_and_compact(signer: TrackingSigner) -> None:
    token = signer.click_token(MESSAGE_ID, 3, "https://example.com/")
    assert set(token) <= set(string.ascii_letters + string.digits + "-_")
    payload = 4 + len(MESSAGE_ID) + 4 + len("https://example.com/")
    assert len(_raw(token)) == payload + TAG_LENGTH


def test_urls(signer: TrackingSigner) -> None:
    open_url = signer.open_url("https://t.example.com/", MESSAGE_ID)
    assert open_url.startswith("https://t.example.com/t/o/")
    assert signer.verify(open_url.rsplit("/", 1)[1]) == TrackedOpen(MESSAGE_ID)
    click_url = signer.click_url("https://t.example.com", MESSAGE_ID, 1, TARGET)
    assert click_url.startswith("https://t.example.com/t/c/")
    assert signer.verify(click_url.rsplit("/", 1)[1]) == TrackedClick(MESSAGE_ID, 1, SIGNED_TARGET)


def test_every_bit_flip_is_rejected(signer: TrackingSigner) -> None:
    """Covers the version, kind, lengths, message id, index, target and tag alike."""
    raw = _raw(signer.click_token(MESSAGE_ID, 2, "https://a.example/x"))
    for byte in range(len(raw)):
        for bit in range(8):
            tampered = bytearray(raw)
            tampered[byte] ^= 1 << bit
            assert signer.verify(_token(tampered)) is None, (byte, bit)


def test_truncated_and_extended_tokens_are_rejected(signer: TrackingSigner) -> None:
    token = signer.click_token(MESSAGE_ID, 0, TARGET)
    for cut in range(len(token)):
        assert signer.verify(token[:cut]) is None
    assert signer.verify(token + "A") is None
    assert signer.verify(token + "AAAA") is None


def test_kind_swap_is_rejected(signer: TrackingSigner) -> None:
    raw = _raw(signer.open_token(MESSAGE_ID))
    raw[1] = 2  # claim "click" while keeping the open token's tag
    assert signer.verify(_token(raw)) is None
    # A click payload with an open tag cannot be forged either: the tags differ.
    click_raw = _raw(signer.click_token(MESSAGE_ID, 0, TARGET))
    open_tag = _raw(signer.open_token(MESSAGE_ID))[-TAG_LENGTH:]
    assert signer.verify(_token(click_raw[:-TAG_LENGTH] + open_tag)) is None


def test_other_secret_is_rejected(signer: TrackingSigner) -> None:
    other = TrackingSigner("another-secret")
    assert other.verify(signer.open_token(MESSAGE_ID)) is None
    assert other.verify(signer.click_token(MESSAGE_ID, 0, TARGET)) is None


def test_non_canonical_encodings_are_rejected(signer: TrackingSigner) -> None:
    token = signer.open_token(MESSAGE_ID)
    assert signer.verify(token + "=" * (-len(token) % 4 or 4)) is None
    assert signer.verify(token[:5] + "." + token[5:]) is None
    assert signer.verify(" " + token) is None
    assert signer.verify(token.replace("-", "+").replace("_", "/") + "+/") is None
    # Setting an unused trailing bit decodes to the same bytes, yet is not our token.
    assert len(token) % 4 != 0
    alphabet = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
    bumped = token[:-1] + alphabet[alphabet.index(token[-1]) + 1]
    assert _raw(bumped) == _raw(token)
    assert signer.verify(bumped) is None


def test_random_garbage_never_raises(signer: TrackingSigner) -> None:
    rng = random.Random(20240501)
    alphabet = string.ascii_letters + string.digits + "-_=+/. %\x00é☃"
    for _ in range(1000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 200)))
        assert signer.verify(text) is None
    for _ in range(1000):
        blob = rng.randbytes(rng.randint(0, 300))
        assert signer.verify(_token(blob)) is None
        assert signer.verify(blob.decode("latin-1")) is None


def test_signed_but_malformed_payloads_never_raise(signer: TrackingSigner) -> None:
    """Even a payload carrying a valid tag (a future format, a bug) must not raise."""
    rng = random.Random(7)
    for _ in range(1000):
        payload = bytes([1, rng.choice([1, 2, 3])]) + rng.randbytes(rng.randint(0, 40))
        result = signer.verify(signer._seal(payload))
        assert result is None or isinstance(result, TrackedOpen | TrackedClick)


@pytest.mark.parametrize(
    "payload",
    [
        bytes([2, 1, 0, 1]) + b"m",  # a future version
        bytes([1, 3, 0, 1]) + b"m",  # an unknown kind
        bytes([1, 2, 0, 1]) + b"m",  # a click without index and target
        bytes([1, 2, 0, 1]) + b"m" + bytes(4),  # a click without target
        bytes([1, 1, 0, 1]) + b"m" + b"extra",  # an open with trailing bytes
        bytes([1, 1, 0, 9]) + b"m",  # a message id longer than the payload
        bytes([1, 1, 0, 1]) + b"\xff",  # a message id that is not UTF-8
    ],
)
def test_signed_payloads_of_the_wrong_shape_are_rejected(
    signer: TrackingSigner, payload: bytes
) -> None:
    assert signer.verify(signer._seal(payload)) is None


def test_wrong_types_are_rejected(signer: TrackingSigner) -> None:
    assert signer.verify(b"abc") is None  # type: ignore[arg-type]
    assert signer.verify(None) is None  # type: ignore[arg-type]


def test_oversized_input_is_rejected_cheaply(signer: TrackingSigner) -> None:
    huge = "A" * 10_000_000
    started = time.perf_counter()
    assert signer.verify(huge) is None
    assert time.perf_counter() - started < 0.01


def test_largest_signable_token_fits_the_cap(signer: TrackingSigner) -> None:
    message_id = "m" * MAX_MESSAGE_ID_BYTES
    target = "https://example.com/" + "p" * (MAX_TARGET_BYTES - len("https://example.com/"))
    token = signer.click_token(message_id, 2**32 - 1, target)
    assert len(token) <= MAX_TOKEN_LENGTH
    assert signer.verify(token) == TrackedClick(message_id, 2**32 - 1, target)


@pytest.mark.parametrize(
    "target",
    [
        "javascript:alert(1)",
        "mailto:a@example.com",
        "ftp://example.com/file",
        "data:text/html,hi",
        "/relative/path",
        "//example.com/no-scheme",
        "example.com",
        "http://",
        "https:///path-only",
        "https://example.com/\r\nSet-Cookie: x=1",
        "http://[::1",
        "https://example.com/" + "x" * MAX_TARGET_BYTES,
        "",
    ],
)
def test_non_http_targets_are_refused(signer: TrackingSigner, target: str) -> None:
    with pytest.raises(ValueError):
        signer.click_token(MESSAGE_ID, 0, target)


def test_http_and_uppercase_schemes_are_accepted(signer: TrackingSigner) -> None:
    for target in ("http://example.com", "HTTPS://Example.com/A?b=c", "https://[::1]:8443/"):
        assert signer.verify(signer.click_token(MESSAGE_ID, 0, target)) == TrackedClick(
            MESSAGE_ID, 0, target
        )


@pytest.mark.parametrize("index", [-1, 2**32])
def test_link_index_out_of_range_is_refused(signer: TrackingSigner, index: int) -> None:
    with pytest.raises(ValueError):
        signer.click_token(MESSAGE_ID, index, TARGET)


def test_bad_message_ids_and_secret_are_refused(signer: TrackingSigner) -> None:
    with pytest.raises(ValueError):
        signer.open_token("")
    with pytest.raises(ValueError):
        signer.open_token("m" * (MAX_MESSAGE_ID_BYTES + 1))
    with pytest.raises(ValueError):
        TrackingSigner("")


@pytest.mark.parametrize(
    ("target", "normalized"),
    [
        ("https://例え.jp/パス", "https://xn--r8jz45g.jp/%E3%83%91%E3%82%B9"),
        ("https://例え。jp/", "https://xn--r8jz45g.jp/"),  # an ideographic full stop
        (
            "https://пример.рф/путь?q=слово#якорь",
            "https://xn--e1afmkfd.xn--p1ai/%D0%BF%D1%83%D1%82%D1%8C"
            "?q=%D1%81%D0%BB%D0%BE%D0%B2%D0%BE#%D1%8F%D0%BA%D0%BE%D1%80%D1%8C",
        ),
        ('https://example.com/a b?x="y" z#f g', "https://example.com/a%20b?x=%22y%22%20z#f%20g"),
        ("https://u:päss@bücher.example:8080/", "https://u:p%C3%A4ss@xn--bcher-kva.example:8080/"),
        # Already ASCII and encoded: unchanged, the case of the host included.
        (
            "https://example.com/p?a=1&b=%20x&c=%E3%83%91",
            "https://example.com/p?a=1&b=%20x&c=%E3%83%91",
        ),
        ("HTTPS://EXAMPLE.com/A?b=c", "HTTPS://EXAMPLE.com/A?b=c"),
        ("https://[::1]:8443/x", "https://[::1]:8443/x"),
    ],
)
def test_targets_are_signed_as_the_ascii_url_a_browser_follows(
    signer: TrackingSigner, target: str, normalized: str
) -> None:
    assert normalize_target(target) == normalized
    assert normalize_target(normalized) == normalized
    assert signer.verify(signer.click_token(MESSAGE_ID, 0, target)) == TrackedClick(
        MESSAGE_ID, 0, normalized
    )
    normalized.encode("latin-1")  # fits a Location header


def test_a_host_idna_cannot_encode_is_refused(signer: TrackingSigner) -> None:
    with pytest.raises(ValueError):
        signer.click_token(MESSAGE_ID, 0, "https://a\u00a0b☃.example/")
