"""A debugger opens a call's arguments and reads JSON, as the model sent and the tool got it."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_on_a_phone import a_conversation_with_a_timeline, a_wide_catalog


def test_parsed_arguments_and_the_tool_message_read_as_json(
    log_in, people, catalog, provider, model_server
):
    a_wide_catalog(catalog)
    conversation = a_conversation_with_a_timeline(people, provider, model_server)
    page = log_in(people.viewer)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    expect(page.locator("#status-badge")).to_have_text("Finished")
    row = page.locator("#round-0-calls tbody tr").nth(1)
    row.get_by_text("arguments").click()
    parsed = row.locator("pre.json").first
    expect(parsed).to_be_visible()
    expect(parsed).to_have_text('{\n  "city": "Oslo",\n  "days": 3\n}')
    expect(row.locator("pre.json").last).to_contain_text('"success": true')
    expect(row).not_to_contain_text("'city'")
