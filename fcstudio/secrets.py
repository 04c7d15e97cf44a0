"""Secrets encrypted at rest: HTTP tool header values now, provider API keys next.

Values are Fernet tokens (AES-128-CBC with an HMAC-SHA256 tag), made with a `MultiFernet` so keys
can rotate: `FCSTUDIO_SECRET_KEYS` lists Fernet keys, the first encrypts and every one decrypts.
Without it, one key is derived from `SECRET_KEY` with HKDF-SHA256, which is fine embedded but ties
every stored secret to `SECRET_KEY`: change that and the secrets must be entered again.

Nothing here logs or returns a decrypted value except `decrypt` itself; errors never carry the
value or the token. A page shows of a secret only that one is set (`SET`): no character of it,
not its length.
"""

from __future__ import annotations

import base64
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MASK = "••••"
SET = f"{MASK} (set)"  # all a person ever sees of a stored secret
HKDF_INFO = b"fcstudio-secrets"


class SecretError(Exception):
    """A stored secret cannot be decrypted with the configured keys."""


def encrypt(text: str) -> str:
    """A fresh token for `text` (two calls give two different tokens)."""
    return _fernet().encrypt(text.encode("utf-8")).decode("ascii")


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode("ascii")).decode("utf-8")
    except (InvalidToken, UnicodeError, AttributeError) as exc:
        raise SecretError(
            "A stored secret cannot be decrypted with the configured keys "
            "(was SECRET_KEY or FCSTUDIO_SECRET_KEYS changed?); enter it again."
        ) from exc


def _fernet() -> MultiFernet:
    return _fernet_for(tuple(settings.FCSTUDIO_SECRET_KEYS), settings.SECRET_KEY)


@lru_cache(maxsize=8)
def _fernet_for(keys: tuple[str, ...], secret_key: str) -> MultiFernet:
    if not keys:
        return MultiFernet([Fernet(derived_key(secret_key))])
    fernets = []
    for position, key in enumerate(keys, start=1):
        try:
            fernets.append(Fernet(key))
        except ValueError as exc:
            raise ImproperlyConfigured(
                f"FCSTUDIO_SECRET_KEYS entry {position} is not a Fernet key "
                "(32 url-safe base64-encoded bytes; make one with Fernet.generate_key())."
            ) from exc
    return MultiFernet(fernets)


def derived_key(secret_key: str) -> bytes:
    """The Fernet key derived from SECRET_KEY when no FCSTUDIO_SECRET_KEYS are set."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode("utf-8")))
