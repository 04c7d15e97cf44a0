"""While a comparison runs, its page redraws itself every second: the arguments a person opened
to read in a column's calls table stay open through those redraws."""

from __future__ import annotations

import threading

from playwright.sync_api import expect

from conversations import compose
from tests.support.openai_server import Reply

COUNT_REDRAWS = """
window.redraws = 0;
document.addEventListener("htmx:afterSwap", () => { window.redraws += 1; });
"""


def test_opened_arguments_stay_open_while_the_runs_go_on(
    log_in, people, team, tool, provider, model_server
):
    source = compose.create_conversation(
        team, people.editor, {"provider": provider, "user": "Weather in Oslo?", "tools": [tool]}
    )
    hold = threading.Event()
    call = {"id": "c1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}
    model_server.script(
        Reply(tool_calls=[call]),
        Reply(tool_calls=[call]),
        Reply(content="Cold in Oslo.", until=hold),
        Reply(content="Cold in Oslo.", until=hold),
    )
    page = log_in(people.editor)
    page.add_init_script(COUNT_REDRAWS)
    page.goto(f"/t/acme/conversations/{source.pk}/compare/")
    page.get_by_label("Provider 2").select_option(label="Scripted")
    page.get_by_role("button", name="Run the comparison").click()

    first = page.locator(".comparison-run").first
    row = first.locator("table.calls tbody tr").first
    expect(row).to_contain_text("ok", timeout=15_000)
    row.locator("summary").click()
    arguments = row.locator("details")
    expect(arguments).to_have_attribute("open", "")
    seen = page.evaluate("() => window.redraws")
    page.wait_for_function(f"() => window.redraws >= {seen + 2}")
    expect(arguments).to_have_attribute("open", "")
    expect(arguments).to_contain_text('"city": "Oslo"')
    page.screenshot(path="test-artifacts/comparison-opened-arguments.png", full_page=True)

    hold.set()
    expect(first.locator(".run-status")).to_have_text("Finished", timeout=15_000)
