"""A team admin connects the studio to a model endpoint."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.models import Provider


def test_add_a_provider_and_test_the_connection(log_in, people, team, model_server):
    page = log_in(people.admin)
    page.goto("/t/acme/")
    page.get_by_role("link", name="Providers").click()
    page.get_by_label("Name").fill("Local test server")
    page.get_by_label("Base URL").fill(model_server.base_url)
    page.get_by_label("API key").fill("sk-test-key-123456")
    page.get_by_label("Default model").fill("test-model")
    page.get_by_role("button", name="Add provider").click()

    expect(page.get_by_text("Provider “Local test server” added.")).to_be_visible()
    row = page.locator("#providers tr", has_text="Local test server")
    expect(row).to_contain_text("••••3456")
    assert "sk-test-key-123456" not in page.content()
    row.get_by_role("button", name="Test connection").click()
    expect(page.locator("#test-result")).to_contain_text("Connected")
    expect(page.locator("#test-result")).to_contain_text("test-model")
    assert Provider.objects.get().api_key_hint == "••••3456"


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
