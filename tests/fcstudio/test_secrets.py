"""Secrets at rest: encrypted with rotating keys, never decryptable with the wrong key, masked."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import ImproperlyConfigured

from fcstudio import secrets


def test_a_secret_round_trips():
    token = secrets.encrypt("Bearer s3cret-value")
    assert "s3cret" not in token
    assert secrets.decrypt(token) == "Bearer s3cret-value"


def test_unicode_and_empty_values_round_trip():
    for value in ("", "clé-é-ü-✓"):
        assert secrets.decrypt(secrets.encrypt(value)) == value


def test_each_encryption_gives_a_different_token():
    assert secrets.encrypt("same") != secrets.encrypt("same")


def test_without_keys_the_key_is_derived_from_secret_key(settings):
    settings.FCSTUDIO_SECRET_KEYS = []
    token = secrets.encrypt("value")
    assert Fernet(secrets.derived_key(settings.SECRET_KEY)).decrypt(token.encode()) == b"value"
    settings.SECRET_KEY = "a-different-secret-key-" + "y" * 30
    with pytest.raises(secrets.SecretError, match="SECRET_KEY"):
        secrets.decrypt(token)


def test_old_keys_still_decrypt_after_a_new_first_key(settings):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.FCSTUDIO_SECRET_KEYS = [old]
    before = secrets.encrypt("rotated")
    settings.FCSTUDIO_SECRET_KEYS = [new, old]
    after = secrets.encrypt("rotated")
    assert secrets.decrypt(before) == secrets.decrypt(after) == "rotated"
    settings.FCSTUDIO_SECRET_KEYS = [new]
    assert secrets.decrypt(after) == "rotated"
    with pytest.raises(secrets.SecretError):
        secrets.decrypt(before)


def test_a_wrong_key_or_a_damaged_token_is_a_secret_error_without_the_value(settings):
    settings.FCSTUDIO_SECRET_KEYS = [Fernet.generate_key().decode()]
    token = secrets.encrypt("hunter2-hunter2")
    settings.FCSTUDIO_SECRET_KEYS = [Fernet.generate_key().decode()]
    for bad in (token, "not a token", token[:-3], "é"):
        with pytest.raises(secrets.SecretError) as error:
            secrets.decrypt(bad)
        assert "hunter2" not in str(error.value)
        assert "cannot be decrypted" in str(error.value)


def test_a_malformed_configured_key_says_which_entry(settings):
    settings.FCSTUDIO_SECRET_KEYS = [Fernet.generate_key().decode(), "too-short"]
    with pytest.raises(ImproperlyConfigured, match="entry 2 is not a Fernet key"):
        secrets.encrypt("x")


def test_what_is_shown_of_a_secret_holds_no_character_of_one():
    assert secrets.SET == "•••• (set)"
    assert not hasattr(secrets, "mask")  # nothing derives a display from the value any more
