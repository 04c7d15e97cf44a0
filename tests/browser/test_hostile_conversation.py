"""A conversation whose model streams a lone surrogate and 1e999 renders like any other: the
text shows the escape, the bad call says why it was refused, the run finishes."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

from .conftest import ARTIFACTS

CITY = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name."}},
    "required": ["city"],
}


def test_a_model_streaming_hostile_values_renders_normally(
    log_in, people, catalog, provider, model_server
):
    tool = Tool(
        catalog=catalog,
        name="get_weather",
        description="Weather for a city.",
        parameters=CITY,
        implementation_config={"response": {"sky": "clear"}, "latency_ms": 50},
    )
    catalog_ops.save_tool(tool)
    model_server.script(
        Reply(
            content="Looking up \ud800 for you.",
            tool_calls=[
                {"id": "call_big", "name": "get_weather", "arguments": '{"city": 1e999}'},
                {"id": "call_ok", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
            ],
            chunk_delay_s=0.01,
        ),
        Reply(content="Clear in Oslo \udfff; the other city was not a city."),
    )
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/new/")
    page.get_by_label("User message").fill("Weather please?")
    page.get_by_label(re.compile(r"^get_weather \(")).check()
    page.get_by_role("button", name="Create and run").click()

    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    messages = page.locator("#messages")
    expect(messages).to_contain_text("Looking up \\ud800 for you.")
    expect(messages).to_contain_text('{"city": 1e999}')  # as the model sent it
    expect(messages.locator(".msg").last).to_contain_text("Clear in Oslo \\udfff;")
    expect(page.locator("#round-0-calls")).to_contain_text("INVALID_JSON")
    expect(page.locator("#round-0-calls")).to_contain_text("1e999 is too large to represent")

    page.reload()  # the recorded page, not only the live one
    expect(page.locator("#status-badge")).to_have_text("Finished")
    expect(messages).to_contain_text("Looking up \\ud800 for you.")
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "hostile_conversation.png"), full_page=True)
