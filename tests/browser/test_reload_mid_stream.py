"""A person reloads the conversation page while the model is still writing: the answer so far
is on the page at once, not only when the model sends its next words."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
SHOTS = "/tmp/reload-mid-stream-shots"


def test_reload_while_the_model_writes(log_in, people, catalog, provider, model_server):
    tool = Tool(catalog=catalog, name="get_weather", description="Weather.", parameters=CITY)
    catalog_ops.save_tool(tool)
    # A few words and the start of a call, then the model goes quiet until it is stopped.
    call = {"id": "call_1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}
    model_server.script(Reply(content="Let me check Oslo.", tool_calls=[call], stall_after=6))
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/new/")
    page.get_by_label("User message").fill("What's the weather in Oslo?")
    page.get_by_label(re.compile(r"^get_weather \(")).check()
    page.get_by_role("button", name="Create and run").click()

    draft = page.locator("#stream article.streaming")
    expect(draft.locator(".content")).to_have_text("Let me check Oslo.", timeout=15_000)
    expect(draft.locator(".call-draft code")).to_have_text("#0 get_weather")
    # The words are coming: the round no longer says it waits for the model.
    expect(page.locator("#round-0-model")).to_contain_text("the model is answering (streaming)")
    expect(page.locator("#round-0-model")).not_to_contain_text("waiting for the model")
    page.screenshot(path=f"{SHOTS}/streaming.png", full_page=True)

    page.reload()
    # Nothing more has come from the model since: what shows was kept for a joining page.
    expect(draft.locator(".content")).to_have_text("Let me check Oslo.")
    expect(draft.locator(".call-draft code")).to_have_text("#0 get_weather")
    expect(draft).to_contain_text("writing… round 1")
    expect(page.locator("#round-0-model")).to_contain_text("the model is answering (streaming)")
    page.screenshot(path=f"{SHOTS}/reloaded.png", full_page=True)

    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#status-badge")).to_have_text("Stopped", timeout=10_000)
    expect(page.locator("#stream article")).to_have_count(0)
    expect(page.locator("#round-0-model")).to_contain_text("cut off")
