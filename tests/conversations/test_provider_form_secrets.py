"""A provider form that fails validation never shows back the key or a header value typed in."""

from __future__ import annotations

from conversations.models import Provider
from conversations.providers import set_api_key

PROVIDERS = "/t/acme/providers/"
KEY = "sk-typed-in-abcdefghijklmnop"
HEADER_VALUE = "azure-typed-secret-0123456789"


def form(**overrides) -> dict:
    data = {
        "name": "Azure",
        "base_url": "https://api.example.com/v1",
        "api_key": KEY,
        "default_model": "gpt-test",
        "timeout_s": "0",  # invalid: the form comes back with errors
        "extra_headers": f"api-key: {HEADER_VALUE}",
    }
    data.update(overrides)
    return data


def test_adding_a_provider_that_fails_validation_shows_no_secret_back(people, team):
    response = people.client_for("admin").post(PROVIDERS, form())

    page = response.content.decode()
    assert response.status_code == 200
    assert "Between 1 and 600 seconds." in page
    assert KEY not in page and HEADER_VALUE not in page and "api-key:" not in page
    assert "never shown back" in page
    assert not Provider.objects.exists()


def test_editing_a_provider_that_fails_validation_shows_no_secret_back(people, team):
    stored = Provider(team=team, name="Azure", base_url="https://api.example.com/v1")
    set_api_key(stored, "sk-stored-zzzzzzzzzzzz")
    stored.save()

    response = people.client_for("admin").post(f"{PROVIDERS}{stored.pk}/", form())

    page = response.content.decode()
    assert response.status_code == 200
    assert KEY not in page and HEADER_VALUE not in page
    assert "sk-stored" not in page


def test_a_header_line_that_fails_validation_is_not_shown_back_either(people, team):
    response = people.client_for("admin").post(
        PROVIDERS, form(timeout_s="30", extra_headers=f"api-key {HEADER_VALUE}")
    )

    page = response.content.decode()
    assert "write headers as Name: value" in page
    assert HEADER_VALUE not in page


def test_the_outsider_cannot_post_the_form(people, team):
    response = people.client_for("outsider").post(PROVIDERS, form(timeout_s="30"))

    assert response.status_code == 404
    assert not Provider.objects.exists()
