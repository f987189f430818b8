"""Personal data at rest: Fernet (AES-128-CBC + HMAC) with the key from configuration, never from the database.

`digest` is a keyed hash, so duplicates (the same ID number twice) are found without storing the number in clear.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken


class Undecryptable(Exception):
    """The value was written under another key, or altered."""


@lru_cache(maxsize=4)
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def encrypt(key: str, plaintext: str) -> str:
    return _fernet(key).encrypt(plaintext.encode()).decode()


def decrypt(key: str, token: str) -> str:
    try:
        return _fernet(key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise Undecryptable("value cannot be decrypted with the configured UNIONBOT_DATA_KEY") from None


def encrypt_bytes(key: str, data: bytes) -> bytes:
    return _fernet(key).encrypt(data)


def decrypt_bytes(key: str, token: bytes) -> bytes:
    try:
        return _fernet(key).decrypt(token)
    except InvalidToken:
        raise Undecryptable("file cannot be decrypted with the configured UNIONBOT_DATA_KEY") from None


def digest(key: str, value: str) -> str:
    return hmac.new(key.encode(), value.encode(), hashlib.sha256).hexdigest()
