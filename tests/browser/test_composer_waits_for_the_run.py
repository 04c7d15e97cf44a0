"""While a run is going on, the composer lets a person type the next turn but not send it: it
says why, and Send comes back by itself when the run ends (here, when they stop it)."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.test_composer import draft
from tests.support.openai_server import Reply

SHOT = "test-artifacts/composer-waits-for-the-run.png"


def test_the_composer_waits_for_the_run(log_in, people, provider, tool, model_server):
    conversation = draft(people, provider, tool)
    model_server.script(
        Reply(content="Oslo is rainy today, bring a coat.", stall_after=3),
        Reply(content="Bergen is rainy too."),
    )
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    page.get_by_role("button", name="Run").click()
    assert model_server.request_arrived.wait(15)
    expect(page.locator("#status-badge")).to_have_text("Running")

    composer = page.locator("#composer")
    box = page.get_by_label("Next user message")
    box.fill("And in Bergen?")
    expect(composer.get_by_role("button", name="Send")).to_be_disabled()
    expect(composer.get_by_text("Send when the run ends")).to_be_visible()
    box.press("Enter")
    expect(box).to_have_value("And in Bergen?")
    assert page.url.endswith(f"/conversations/{conversation.pk}/")
    page.screenshot(path=SHOT, full_page=True)

    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#status-badge")).to_have_text("Stopped", timeout=10_000)
    expect(composer.get_by_role("button", name="Send")).to_be_enabled()
    expect(composer.get_by_text("Send when the run ends")).to_be_hidden()
    box.press("Enter")
    expect(page.locator("#messages .msg").last).to_contain_text("Bergen is rainy", timeout=15_000)
