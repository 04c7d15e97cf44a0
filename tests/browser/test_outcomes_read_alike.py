"""A debugger reads a round's calls: the totals and the rows name outcomes in one case, and a
call a person denied says it once."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations import compose
from conversations.models import Batch, ToolExecution


def test_outcomes_read_alike_and_a_denial_is_said_once(log_in, people, team, provider, tool):
    conversation = compose.create_conversation(
        team, people.editor, {"provider": provider, "user": "Weather?", "tools": [tool]}
    )
    batch = Batch.objects.create(
        team=team, conversation=conversation, source="conversation", strategy="asyncio", round=0
    )
    stopped = {"status": "error", "error_code": "CANCELLED", "error_message": "the run stopped"}
    denied = {
        "status": "error",
        "error_code": "DENIED",
        "error_message": "the call was not approved",
        "approval": "denied",
    }
    for position, row in enumerate([{"status": "ok"}, stopped, stopped, denied]):
        ToolExecution.objects.create(
            batch=batch,
            position=position,
            tool_call_id=f"c{position}",
            tool_name="get_weather",
            **row,
        )
    page = log_in(people.viewer)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")

    calls = page.locator("#summary dt", has_text="Calls").locator("xpath=following-sibling::dd")
    expect(calls).to_have_text("2 CANCELLED 1 DENIED 1 OK")
    rows = page.locator("#round-0-calls tbody tr")
    expect(rows.filter(has_text="c0").locator("td").nth(1)).to_have_text("OK")
    expect(rows.filter(has_text="c3").locator("td").nth(1)).to_have_text(
        "DENIED the call was not approved"
    )
    page.screenshot(path="test-artifacts/outcomes-read-alike.png", full_page=True)
