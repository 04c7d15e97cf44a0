"""Providers: added by admins, keys encrypted and never shown back, connection tested."""

from __future__ import annotations

import json

import pytest

from conversations.forms import ProviderForm
from conversations.models import Provider
from conversations.providers import provider_config, set_api_key
from fcstudio import secrets

PROVIDERS = "/t/acme/providers/"
SECRET = "sk-live-abcdefghijklmnop1234"


def form(**overrides) -> dict:
    data = {
        "name": "OpenAI",
        "base_url": "https://api.example.com/v1",
        "api_key": SECRET,
        "default_model": "gpt-test",
        "timeout_s": "30",
        "extra_headers": "OpenAI-Organization: org-123\nX-Trace: on",
    }
    data.update(overrides)
    return data


def test_an_admin_adds_a_provider_and_the_key_is_stored_encrypted(people, team):
    response = people.client_for("admin").post(PROVIDERS, form())
    assert response.status_code == 302
    provider = Provider.objects.get()
    assert SECRET not in provider.api_key_encrypted
    assert secrets.decrypt(provider.api_key_encrypted) == SECRET
    assert provider.api_key_hint == "•••• (set)"
    config = provider_config(provider)
    assert config.api_key == SECRET
    assert config.extra_headers == {"OpenAI-Organization": "org-123", "X-Trace": "on"}


def test_the_key_and_headers_never_appear_in_any_page(people, team):
    client = people.client_for("admin")
    client.post(PROVIDERS, form())
    provider = Provider.objects.get()
    for url in (PROVIDERS, f"{PROVIDERS}{provider.pk}/"):
        page = client.get(url).content.decode()
        assert SECRET not in page and "org-123" not in page
        assert provider.api_key_encrypted not in page
    assert "•••• (set)" in client.get(PROVIDERS).content.decode()


def suffixes_shown(page: str, secret: str) -> list[str]:
    """Every ending of `secret` of 4 or more characters found in `page` (a hint's tail)."""
    return [secret[-size:] for size in range(4, len(secret) + 1) if secret[-size:] in page]


def test_no_page_shows_any_part_of_the_key_to_a_viewer_or_an_admin(people, team):
    people.client_for("admin").post(PROVIDERS, form())
    provider = Provider.objects.get()
    for role in ("viewer", "admin"):
        client = people.client_for(role)
        pages = [client.get(PROVIDERS).content.decode()]
        if role == "admin":
            pages.append(client.get(f"{PROVIDERS}{provider.pk}/").content.decode())
        for page in pages:
            assert "•••• (set)" in page
            assert suffixes_shown(page, SECRET) == [], role
            assert SECRET[:8] not in page


def test_keys_of_any_length_show_the_same_hint(team):
    hints = set()
    for key in ("abc", "elevenchars", "twelve-chars", SECRET):
        provider = Provider(team=team, name=key, base_url="https://api.example.com/v1")
        set_api_key(provider, key)
        hints.add(provider.api_key_hint)
    assert hints == {"•••• (set)"}  # nothing of a key, not even how long it is


def test_editing_without_a_key_keeps_the_stored_one(people, team):
    client = people.client_for("admin")
    client.post(PROVIDERS, form())
    provider = Provider.objects.get()
    response = client.post(
        f"{PROVIDERS}{provider.pk}/", form(api_key="", extra_headers="", default_model="other")
    )
    assert response.status_code == 302
    provider.refresh_from_db()
    assert provider.default_model == "other"
    assert secrets.decrypt(provider.api_key_encrypted) == SECRET
    assert provider_config(provider).extra_headers == {
        "OpenAI-Organization": "org-123",
        "X-Trace": "on",
    }


def test_bad_provider_input_is_answered_on_the_form(people, team):
    client = people.client_for("admin")
    cases = [
        (form(api_key=""), "needs its API key"),
        (form(base_url="not a url"), "Enter a valid URL"),
        (form(timeout_s="0"), "Between 1 and 600 seconds"),
        (form(extra_headers="no colon here"), "Line 1: write headers as Name: value."),
        (form(extra_headers="X-Ok: 1\nX-Bad: a\x01b"), "Line 2: the value of X-Bad has a control"),
    ]
    for data, message in cases:
        response = client.post(PROVIDERS, data)
        assert response.status_code == 200
        assert message in response.content.decode()
    client.post(PROVIDERS, form())
    assert "already has a provider" in client.post(PROVIDERS, form()).content.decode()
    assert Provider.objects.count() == 1


@pytest.mark.parametrize(
    "line",
    [
        "Host: x",
        "content-length: 5",
        "Transfer-Encoding: chunked",
        "Connection: close",
        "Keep-Alive: 5",
        "Upgrade: websocket",
        "TE: trailers",
        "Trailer: X-Sum",
        "Proxy-Authorization: Basic eA==",
        "Authorization: Bearer other",
    ],
)
def test_a_header_the_studio_sets_is_refused_saying_so(team, line):
    name = line.partition(":")[0]
    bound = ProviderForm(form(extra_headers=f"X-Ok: 1\n{line}"), team=team)
    assert not bound.is_valid()
    assert bound.errors["extra_headers"] == [f"Line 2: the studio sets {name} itself."]


def test_headers_the_studio_sets_stored_before_they_were_refused_are_not_sent(team):
    provider = Provider(team=team, name="Old", base_url="https://api.example.com/v1")
    set_api_key(provider, SECRET)
    stored = {"Host": "evil.example", "authorization": "Bearer x", "X-Trace": "on"}
    provider.extra_headers_encrypted = secrets.encrypt(json.dumps(stored))
    provider.save()
    assert provider_config(provider).extra_headers == {"X-Trace": "on"}


def test_editors_see_providers_but_cannot_add_them(people, team):
    page = people.client_for("editor").get(PROVIDERS).content.decode()
    assert "Add a provider" not in page
    assert people.client_for("editor").post(PROVIDERS, form()).status_code == 403


def test_test_connection_lists_the_models(people, provider, model_server):
    url = f"{PROVIDERS}{provider.pk}/test/"
    html = people.client_for("editor").post(url).content.decode()
    assert "Connected" in html and "<code>test-model</code>" in html
    assert model_server.requests == []  # listing models is not a chat request


def test_test_connection_says_why_it_failed(people, team, model_server):
    wrong = Provider(team=team, name="Wrong key", base_url=model_server.base_url)
    set_api_key(wrong, "sk-wrong-key-000000000")
    wrong.save()
    html = people.client_for("editor").post(f"{PROVIDERS}{wrong.pk}/test/").content.decode()
    assert "auth:" in html
    assert "sk-wrong-key-000000000" not in html
    base_url = model_server.base_url
    model_server.stop()
    dead = Provider(team=team, name="Dead", base_url=base_url)
    set_api_key(dead, "x")
    dead.save()
    html = people.client_for("editor").post(f"{PROVIDERS}{dead.pk}/test/").content.decode()
    assert "connection:" in html


def test_a_key_that_cannot_be_decrypted_is_reported_not_crashed(people, team, settings):
    provider = Provider(team=team, name="Rotated", base_url="http://127.0.0.1:9/v1")
    set_api_key(provider, "sk-old")
    provider.save()
    settings.SECRET_KEY = "a-completely-different-secret-key-for-this-test-0123456789"
    html = people.client_for("editor").post(f"{PROVIDERS}{provider.pk}/test/").content.decode()
    assert 'class="error"' in html


def test_stored_hints_that_showed_a_keys_tail_now_say_only_that_it_is_set(team):
    from importlib import import_module

    from django.apps import apps

    migration = import_module("conversations.migrations.0020_api_key_hint_shows_only_set")
    for name, hint in (("Old", "••••1234"), ("Short", "••••"), ("Keyless", "")):
        Provider.objects.create(
            team=team, name=name, base_url="https://api.example.com/v1", api_key_hint=hint
        )
    migration.only_set(apps, None)
    hints = dict(Provider.objects.values_list("name", "api_key_hint"))
    assert hints == {"Old": "•••• (set)", "Short": "•••• (set)", "Keyless": ""}


def test_only_an_existing_providers_form_offers_to_keep_the_key(people, provider):
    new = people.client_for("admin").get("/t/acme/providers/").content.decode()
    assert "Leave empty to keep" not in new
    edit = people.client_for("admin").get(f"/t/acme/providers/{provider.pk}/").content.decode()
    assert "Leave empty to keep the current key." in edit
