"""An editor turns a tool into an HTTP webhook with a secret header, and the secret stays secret."""

from __future__ import annotations

from playwright.sync_api import expect

from fcstudio import secrets
from tools_app.models import Tool

SECRET = "Bearer s3cret-value"


def stored_authorization(tool: Tool) -> str:
    tool.refresh_from_db()
    return secrets.decrypt(tool.implementation_config["headers"]["Authorization"]["secret"])


def test_a_secret_header_is_shown_masked_and_kept_across_saves(log_in, people, tool):
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/tools/get_weather/")

    page.get_by_label("Implementation").select_option(label="HTTP webhook")
    page.get_by_label("Webhook URL").fill("https://weather.example.com/hook")
    headers = page.get_by_label("Headers")
    expect(headers).to_be_visible()
    headers.fill(f"Authorization: {SECRET}")
    page.get_by_label("Version message").fill("Call the weather service")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_text("Saved get_weather as version 2.")).to_be_visible()

    expect(page.get_by_label("Headers")).to_have_value("Authorization: •••• (set)")
    assert "s3cret" not in page.content() and "t-value" not in page.content()
    assert stored_authorization(tool) == SECRET

    page.get_by_label("Description").fill("Current weather for a city, from the service.")
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_text("Saved get_weather as version 3.")).to_be_visible()
    expect(page.get_by_label("Headers")).to_have_value("Authorization: •••• (set)")
    assert "s3cret" not in page.content()
    assert stored_authorization(tool) == SECRET
    assert tool.description == "Current weather for a city, from the service."

    page.get_by_role("link", name="History").click()
    expect(page.locator("#diff .add")).to_contain_text("from the service")
    assert "s3cret" not in page.content()
