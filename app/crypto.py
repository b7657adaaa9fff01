"""Encryption of secrets at rest (CRM tokens) with rotatable Fernet keys.

A `SecretBox` holds an ordered list of Fernet keys: the first one encrypts, every
one of them decrypts, so a new key can be put in front while tokens written under
the old ones stay readable until they are rotated. Error messages never contain a
key or a token, because they end up in logs.

Only the standard library and `cryptography` are used, so the module can be shared
by the settings loader, the services and the command line alike.
"""

import re
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# TOKEN_ENCRYPTION_KEYS separates keys by commas and/or any whitespace, so a key
# list can be written on one line or one key per line.
_KEY_SEPARATORS = re.compile(r"[\s,]+")
_KEY_FORMAT = "a URL-safe base64 encoding of 32 bytes"


class SecretKeyError(ValueError):
    """A configured key is missing or is not a usable Fernet key."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        # 1-based, as an operator counts keys in the setting; None when no key at all.
        self.position = position


class SecretUnreadableError(Exception):
    """A stored secret cannot be decrypted with any of the configured keys."""


def generate_key() -> str:
    """A fresh random Fernet key, so operators and installers need no other tool."""
    return Fernet.generate_key().decode("ascii")


def parse_keys(setting: str) -> list[str]:
    """Split the TOKEN_ENCRYPTION_KEYS format (newest key first) into single keys."""
    return [key for key in _KEY_SEPARATORS.split(setting) if key]


def _fernet_at(position: int, count: int, key: object) -> Fernet:
    where = f"encryption key {position} of {count}"
    if not isinstance(key, str):
        raise SecretKeyError(f"{where} must be a string", position)
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        # `from None`: the underlying error may describe the key's content.
        raise SecretKeyError(
            f"{where} is not a valid Fernet key (expected {_KEY_FORMAT})", position
        ) from None


class SecretBox:
    """Encrypts under the first key and decrypts under any, to allow key rotation."""

    def __init__(self, keys: Sequence[str]) -> None:
        if isinstance(keys, str | bytes):
            # A single string would otherwise be iterated character by character.
            raise TypeError("keys must be a sequence of keys; use parse_keys()")
        if not keys:
            raise SecretKeyError("at least one encryption key is required")
        fernets = [
            _fernet_at(position, len(keys), key)
            for position, key in enumerate(keys, start=1)
        ]
        self._current = fernets[0]
        self._all = MultiFernet(fernets)
        self.key_count = len(fernets)

    def encrypt(self, plaintext: str) -> str:
        """Encrypt under the current (first) key so new secrets use the newest key."""
        return self._all.encrypt(plaintext.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        """Read a secret written under any configured key, old or current."""
        try:
            return self._all.decrypt(token).decode("utf-8")
        except (InvalidToken, ValueError, TypeError):
            # ValueError covers non-ASCII or non-UTF-8 input; the token stays out of
            # the message and the traceback.
            raise SecretUnreadableError(
                "stored secret cannot be decrypted with any configured key"
            ) from None

    def rotate(self, token: str) -> str:
        """Re-encrypt under the current key so an old key can later be retired."""
        try:
            return self._all.rotate(token).decode("ascii")
        except (InvalidToken, ValueError, TypeError):
            raise SecretUnreadableError(
                "stored secret cannot be decrypted with any configured key"
            ) from None

    def needs_rotation(self, token: str) -> bool:
        """Whether the token was written under an older key and should be rotated."""
        try:
            self._current.decrypt(token)
        except (InvalidToken, ValueError, TypeError):
            # Not the current key: rotation is needed if an older key can read it.
            self.decrypt(token)
            return True
        return False
