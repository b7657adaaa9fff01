"""SecretBox: round trips, key rotation and errors that never leak keys or tokens."""

import pytest
from cryptography.fernet import Fernet

from app.crypto import (
    SecretBox,
    SecretKeyError,
    SecretUnreadableError,
    generate_key,
    parse_keys,
)

SECRET = "hubspot-refresh-token-ä"


def test_round_trip() -> None:
    box = SecretBox([generate_key()])
    token = box.encrypt(SECRET)
    assert isinstance(token, str)
    assert SECRET not in token
    assert box.decrypt(token) == SECRET


def test_first_key_encrypts_and_older_keys_still_decrypt() -> None:
    old, new = generate_key(), generate_key()
    written_before = SecretBox([old]).encrypt(SECRET)
    box = SecretBox([new, old])
    assert box.decrypt(written_before) == SECRET
    written_now = box.encrypt(SECRET)
    assert Fernet(new).decrypt(written_now).decode() == SECRET
    with pytest.raises(SecretUnreadableError):
        SecretBox([old]).decrypt(written_now)


def test_rotate_moves_a_token_to_the_current_key() -> None:
    old, new = generate_key(), generate_key()
    token = SecretBox([old]).encrypt(SECRET)
    box = SecretBox([new, old])
    assert box.needs_rotation(token)
    rotated = box.rotate(token)
    assert not box.needs_rotation(rotated)
    assert SecretBox([new]).decrypt(rotated) == SECRET


def test_rotate_of_an_unreadable_token_fails_cleanly() -> None:
    foreign = SecretBox([generate_key()]).encrypt(SECRET)
    box = SecretBox([generate_key()])
    with pytest.raises(SecretUnreadableError) as caught:
        box.rotate(foreign)
    assert foreign not in str(caught.value)
    with pytest.raises(SecretUnreadableError):
        box.needs_rotation(foreign)


@pytest.mark.parametrize(
    "bad_key",
    ["not-a-key", "c2hvcnQ=", "A" * 40, "ключ" * 11],
    ids=["not-base64", "too-short", "truncated", "not-ascii"],
)
def test_invalid_key_is_rejected_by_position_without_its_text(bad_key: str) -> None:
    with pytest.raises(SecretKeyError) as caught:
        SecretBox([generate_key(), bad_key, generate_key()])
    message = str(caught.value)
    assert "key 2 of 3" in message
    assert caught.value.position == 2
    assert bad_key not in message
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_non_string_key_is_rejected() -> None:
    with pytest.raises(SecretKeyError) as caught:
        SecretBox([Fernet.generate_key()])  # type: ignore[list-item]
    assert caught.value.position == 1


def test_no_keys_is_an_error() -> None:
    with pytest.raises(SecretKeyError) as caught:
        SecretBox([])
    assert caught.value.position is None


def test_a_bare_string_is_not_taken_for_a_key_list() -> None:
    with pytest.raises(TypeError, match="parse_keys"):
        SecretBox(generate_key())


@pytest.mark.parametrize("token", ["gAAAAABnot-a-real-token", "", "ü-non-ascii"])
def test_unreadable_token_raises_without_echoing_it(token: str) -> None:
    box = SecretBox([generate_key()])
    with pytest.raises(SecretUnreadableError) as caught:
        box.decrypt(token)
    if token:
        assert token not in str(caught.value)
    assert caught.value.__suppress_context__


def test_token_under_the_right_key_but_not_utf8_is_unreadable() -> None:
    key = generate_key()
    token = Fernet(key).encrypt(b"\xff\xfe").decode()
    with pytest.raises(SecretUnreadableError):
        SecretBox([key]).decrypt(token)


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("a", ["a"]),
        ("a,b", ["a", "b"]),
        (" a , b ,c ", ["a", "b", "c"]),
        ("a b\tc", ["a", "b", "c"]),
        ("a\nb\r\n,c,\n", ["a", "b", "c"]),
        (",, ,", []),
        ("", []),
    ],
)
def test_parse_keys_splits_on_commas_and_whitespace(
    setting: str, expected: list[str]
) -> None:
    assert parse_keys(setting) == expected


def test_parsed_keys_keep_their_order_so_the_first_is_current() -> None:
    current, previous = generate_key(), generate_key()
    keys = parse_keys(f"{current},\n  {previous}\n")
    assert keys == [current, previous]
    token = SecretBox(keys).encrypt(SECRET)
    assert Fernet(current).decrypt(token).decode() == SECRET


def test_generated_keys_are_valid_and_distinct() -> None:
    first, second = generate_key(), generate_key()
    assert first != second
    Fernet(first)
