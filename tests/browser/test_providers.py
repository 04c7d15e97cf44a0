"""A team admin connects the studio to a model endpoint."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.models import Provider

SERVED_KEY = "sk-test-key-123456"  # the key model_server accepts
KEY = "sk-test-key-tail-QvZxWk"  # an ending no page holds by chance


def shown_parts(html: str, key: str = KEY, shortest: int = 4) -> list[str]:
    """The key's endings of `shortest` or more characters (a hint's tail) found in `html`."""
    return [key[-size:] for size in range(shortest, len(key) + 1) if key[-size:] in html]


def test_add_a_provider_and_test_the_connection(log_in, people, team, model_server):
    page = log_in(people.admin)
    page.goto("/t/acme/")
    page.get_by_role("link", name="Providers").click()
    expect(page.get_by_text("Leave empty to keep")).to_have_count(0)  # nothing stored yet
    page.get_by_label("Name").fill("Local test server")
    page.get_by_label("Base URL").fill(model_server.base_url)
    page.get_by_label("API key").fill(SERVED_KEY)
    page.get_by_label("Default model").fill("test-model")
    page.get_by_role("button", name="Add provider").click()

    expect(page.get_by_text("Provider “Local test server” added.")).to_be_visible()
    row = page.locator("#providers tr", has_text="Local test server")
    expect(row).to_contain_text("•••• (set)")
    html = page.content()
    # from 6 characters on: the server's random port may hold "3456" or "23456"
    assert "••••3456" not in html and not shown_parts(html, SERVED_KEY, shortest=6)
    row.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("Connected")
    expect(page.locator("#test-result")).to_contain_text("test-model")
    assert Provider.objects.get().api_key_hint == "•••• (set)"


def test_a_viewer_sees_that_a_key_is_set_and_nothing_of_it(log_in, people, team, model_server):
    admin = log_in(people.admin)
    admin.goto("/t/acme/providers/")
    admin.get_by_label("Name").fill("Keyed")
    admin.get_by_label("Base URL").fill(model_server.base_url)
    admin.get_by_label("API key").fill(KEY)
    admin.get_by_label("Default model").fill("test-model")
    admin.get_by_role("button", name="Add provider").click()
    expect(admin.get_by_text("Provider “Keyed” added.")).to_be_visible()
    admin.context.clear_cookies()

    page = log_in(people.viewer)
    page.goto("/t/acme/providers/")
    row = page.locator("#providers tr", has_text="Keyed")
    expect(row).to_contain_text("•••• (set)")
    assert not shown_parts(page.content())


def test_a_wrong_key_is_explained(log_in, people, team, model_server):
    page = log_in(people.admin)
    page.goto("/t/acme/providers/")
    page.get_by_label("Name").fill("Wrong")
    page.get_by_label("Base URL").fill(model_server.base_url)
    page.get_by_label("API key").fill("sk-not-the-right-one")
    page.get_by_role("button", name="Add provider").click()
    page.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("auth:")
    assert "sk-not-the-right-one" not in page.content()
