"""A debugger forces one tool against a server that behaves like llama-cpp-python behind a
model that always obeys: the run still reaches an answer, and the page says what was sent."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

CITY = {
    "type": "object",
    "properties": {"city": {"type": "string", "description": "City name."}},
    "required": ["city"],
}


def test_a_named_tool_choice_reaches_an_answer_and_each_round_shows_its_choice(
    log_in, people, catalog, provider, model_server
):
    for name in ("get_weather", "get_time"):
        tool = Tool(
            catalog=catalog,
            name=name,
            description=f"{name} for a city.",
            parameters=CITY,
            implementation_config={"response": {"city": "{{ city }}"}, "latency_ms": 10},
        )
        catalog_ops.save_tool(tool)
    model_server.reject_null_content = True
    model_server.obey_forced_choice = True
    model_server.forced_arguments = '{"city": "Oslo"}'
    model_server.send_usage = False
    model_server.script(Reply(content="It is mild in Oslo."))

    page = log_in(people.editor)
    page.goto("/t/acme/conversations/new/")
    page.get_by_label("User message").fill("What's the weather in Oslo?")
    for name in ("get_weather", "get_time"):
        page.get_by_label(re.compile(rf"^{name} \(")).check()
    page.get_by_label("Tool choice").select_option(label="only get_weather")
    expect(page.get_by_label("Keep forcing tool_choice")).not_to_be_checked()
    page.get_by_role("button", name="Create and run").click()

    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    expect(page.locator("#messages .msg").last).to_contain_text("It is mild in Oslo.")
    expect(page.get_by_text("until obeyed, then auto")).to_be_visible()
    expect(page.locator("#round-0-model .tool-choice-sent")).to_have_text("get_weather")
    expect(page.locator("#round-1-model .tool-choice-sent")).to_have_text("auto")
    expect(page.locator("#round-0-model")).to_contain_text("tokens unknown")
    expect(page.locator("#summary-tokens")).to_have_text("unknown")

    page.reload()
    expect(page.locator("#round-1-model .tool-choice-sent")).to_have_text("auto")
    expect(page.locator("#summary-tokens")).to_have_text("unknown")
    sent = [r["body"]["tool_choice"] for r in model_server.requests]
    assert sent == [{"type": "function", "function": {"name": "get_weather"}}, "auto"]
