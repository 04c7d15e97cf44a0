"""A model behind Ollama (every streamed call at index 0) or Gemini's compatible API (no index)
asks for three calls at once: the page shows three calls, each with its own arguments, run in
parallel, and the answer."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_conversation import build, make_tools
from tests.support.openai_server import Reply

CITIES = ("Oslo", "Bergen", "Tromsø")


@pytest.mark.parametrize("indexes", ["all_zero", "missing"])
def test_three_calls_streamed_without_their_own_indexes_run_apart(
    log_in, people, catalog, provider, model_server, indexes
):
    make_tools(catalog, latency_ms=50)
    model_server.call_indexes = indexes
    calls = [
        {"id": f"call_{n}", "name": "get_weather", "arguments": f'{{"city": "{city}"}}'}
        for n, city in enumerate(CITIES)
    ]
    model_server.script(Reply(tool_calls=calls), Reply(content="Cold, colder, coldest."))
    page = log_in(people.editor)
    build(page, parallel=True, tools=("get_weather",))

    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    expect(page.locator("#round-0-gantt g.call.bar-ok")).to_have_count(3)
    results = page.locator("#messages .msg.role-tool")
    expect(results).to_have_count(3)
    for n, city in enumerate(CITIES):
        expect(results.nth(n)).to_contain_text(city)
    expect(page.locator("#messages .msg").last).to_contain_text("Cold, colder, coldest.")
    sent = model_server.requests[1]["body"]["messages"][1]["tool_calls"]
    assert [call["function"]["arguments"] for call in sent] == [c["arguments"] for c in calls]
