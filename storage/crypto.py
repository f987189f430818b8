"""Personal data at rest: Fernet (AES-128-CBC + HMAC) with the key from configuration, never from the database.

A key may be a ring, `NEW,OLD,…` (`UNIONBOT_DATA_KEY`): the first key encrypts and every key decrypts, so the
service keeps reading what an earlier key wrote while `unionbot keys rotate` (`storage.rekey`) moves it to the first.
`digest` is a keyed hash under the first key, so duplicates (the same ID number twice) are found without storing
the number in clear.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

# A sealed form answer is stored as {SEALED: "<token of its JSON>"} (`bot.dialog.sealed`; re-keyed by `storage.rekey`).
SEALED = "sealed"


class Undecryptable(Exception):
    """The value was written under another key, or altered."""


def keys_of(ring: str) -> list[str]:
    """The keys of a ring, newest (the one that encrypts) first."""
    return [key.strip() for key in ring.split(",") if key.strip()]


@lru_cache(maxsize=8)
def _fernet(ring: str) -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in keys_of(ring)])


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
    return hmac.new(keys_of(key)[0].encode(), value.encode(), hashlib.sha256).hexdigest()


def rekey(new_key: str, ring: str, token: bytes) -> bytes | None:
    """`token` encrypted under `new_key` alone, or None when it already is; Undecryptable when no key of
    `new_key` and `ring` opens it."""
    try:
        Fernet(new_key.encode()).decrypt(token)
        return None
    except InvalidToken:
        pass
    try:
        return _fernet(",".join([new_key, *keys_of(ring)])).rotate(token)
    except InvalidToken:
        raise Undecryptable("value cannot be decrypted with the new key or any key of UNIONBOT_DATA_KEY") from None
