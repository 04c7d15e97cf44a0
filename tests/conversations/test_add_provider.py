"""add_provider: a provider registered from a script, its key read from the environment only."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import CommandError, call_command

from conversations.models import Provider
from conversations.providers import provider_config

KEY = "sk-live-abcdef-0123456789"


def add_provider(*args: str) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("add_provider", *args, stdout=out, stderr=err)
    [line] = out.getvalue().strip().splitlines()
    return json.loads(line), out.getvalue() + err.getvalue()


def arguments(name: str = "Local", url: str = "http://127.0.0.1:9999/v1", model: str = "m1"):
    return [
        "--team=acme",
        f"--name={name}",
        f"--base-url={url}",
        "--api-key-env=FC_TEST_KEY",
        f"--model={model}",
    ]


def test_creates_a_provider_with_the_key_encrypted_and_never_printed(team, monkeypatch):
    monkeypatch.setenv("FC_TEST_KEY", KEY)
    report, output = add_provider(*arguments())
    assert report == {"provider": "Local", "created": True}
    assert KEY not in output
    provider = Provider.objects.get(team=team, name="Local")
    assert (provider.base_url, provider.default_model) == ("http://127.0.0.1:9999/v1", "m1")
    assert KEY not in provider.api_key_encrypted
    assert provider_config(provider).api_key == KEY


def test_running_again_updates_the_same_provider(team, monkeypatch):
    monkeypatch.setenv("FC_TEST_KEY", KEY)
    add_provider(*arguments())
    monkeypatch.setenv("FC_TEST_KEY", "sk-rotated-999999999")
    report, _ = add_provider(*arguments(url="https://llm.example.com/v1", model="m2"))
    assert report == {"provider": "Local", "created": False}
    [provider] = Provider.objects.filter(team=team)
    assert (provider.base_url, provider.default_model) == ("https://llm.example.com/v1", "m2")
    assert provider_config(provider).api_key == "sk-rotated-999999999"


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_missing_or_empty_variable_is_an_error(team, monkeypatch, value):
    if value is None:
        monkeypatch.delenv("FC_TEST_KEY", raising=False)
    else:
        monkeypatch.setenv("FC_TEST_KEY", value)
    with pytest.raises(CommandError, match="FC_TEST_KEY is missing or empty"):
        add_provider(*arguments())
    assert not Provider.objects.exists()


def test_unknown_team_and_bad_url_are_errors(team, monkeypatch):
    monkeypatch.setenv("FC_TEST_KEY", KEY)
    with pytest.raises(CommandError, match="No team with slug 'nope'"):
        add_provider("--team=nope", *arguments()[1:])
    with pytest.raises(CommandError, match="Not an http"):
        add_provider(*arguments(url="ftp://example.com"))
    assert not Provider.objects.exists()
