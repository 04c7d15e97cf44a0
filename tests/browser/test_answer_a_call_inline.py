"""A debugger pauses a run to review its tool results, answers a call on its row, and continues."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations import compose
from tests.support.openai_server import Reply

ARTIFACTS = "test-artifacts"


def test_answer_a_call_inline_in_review_mode_and_continue(
    log_in, people, team, provider, tool, model_server
):
    conversation = compose.create_conversation(
        team,
        people.editor,
        {"provider": provider, "user": "Weather in Oslo?", "tools": [tool], "review_results": True},
    )
    model_server.script(
        Reply(tool_calls=[{"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]),
        Reply(content="It is -40 in Oslo."),
    )
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#status-badge")).to_have_text("Paused for review", timeout=15_000)

    row = page.locator("#round-0-calls tbody tr", has_text="c1")
    row.get_by_label("Answer this call").fill('{"temp": -40')
    row.get_by_role("button", name="Send this answer").click()
    row = page.locator("#round-0-calls tbody tr", has_text="c1")
    expect(row.get_by_role("alert")).to_contain_text("Not valid JSON")
    page.screenshot(path=f"{ARTIFACTS}/answer-call-bad-json.png", full_page=True, caret="initial")

    row.get_by_label("Answer this call").fill('{"temp": -40}')
    row.get_by_role("button", name="Send this answer").click()
    row = page.locator("#round-0-calls tbody tr", has_text="c1")
    expect(row.get_by_role("status")).to_contain_text("Answered by hand")
    tool_message = page.locator("#messages .msg.role-tool")
    expect(tool_message).to_contain_text('"temp": -40')
    expect(tool_message).to_contain_text("edited by hand")
    page.screenshot(path=f"{ARTIFACTS}/answer-call-inline.png", full_page=True, caret="initial")

    page.get_by_role("button", name="Continue").click()
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    sent = model_server.requests[1]["body"]["messages"][-1]
    assert sent == {"role": "tool", "tool_call_id": "c1", "content": '{"temp": -40}'}
