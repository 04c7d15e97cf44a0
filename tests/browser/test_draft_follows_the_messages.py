"""The answer being written shows where it will land: right under the last message, above the
panel for adding a message by hand and the composer."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_composer import draft
from tests.support.openai_server import Reply

SHOT = "test-artifacts/draft-follows-the-messages.png"


def test_the_draft_is_written_under_the_last_message(log_in, people, provider, tool, model_server):
    conversation = draft(people, provider, tool)
    model_server.script(Reply(content="Oslo is rainy today, bring a coat.", stall_after=3))
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    page.get_by_role("button", name="Run").click()
    assert model_server.request_arrived.wait(15)
    writing = page.locator("#stream article")
    expect(writing).to_contain_text("Oslo is")
    last = page.locator("#messages .msg").last.bounding_box()
    drafted = writing.bounding_box()
    by_hand = page.locator("#add-message").bounding_box()
    assert last and drafted and by_hand
    assert last["y"] < drafted["y"] < by_hand["y"]
    page.screenshot(path=SHOT, full_page=True)
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#status-badge")).to_have_text("Stopped", timeout=10_000)
