"""A person who sets the temperature for the next run reads it back in the conversation's
settings line (on the fork it lands on), beside the model and tool_choice."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_composer import draft

SHOT = "test-artifacts/settings-line-temperature.png"


def test_the_settings_line_says_the_temperature(log_in, people, provider, tool):
    conversation = draft(people, provider, tool)
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    line = page.locator("#run-settings-line")
    expect(line).not_to_contain_text("temperature")

    page.get_by_text("Settings for the next run").click()
    page.get_by_label("Temperature").fill("0.3")
    page.get_by_role("button", name="Save settings").click()
    expect(page.get_by_text("Settings saved for the next run.")).to_be_visible()
    expect(line).to_contain_text("temperature 0.3")
    page.screenshot(path=SHOT, full_page=True)
