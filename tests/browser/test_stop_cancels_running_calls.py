"""A person stops a run while three slow searches run: the calls turn cancelled on the page at
once (their rows and the outcome filter), and the chart and the totals keep the time they ran."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_approvals_and_stops_stay_consistent import build, make_tools
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

QUERY = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}


def slow_search(catalog) -> None:
    tool = Tool(
        catalog=catalog,
        name="slow_search",
        description="Search, slowly.",
        parameters=QUERY,
        implementation_config={"response": {"hits": []}, "latency_ms": 15000},
    )
    catalog_ops.save_tool(tool)


def test_stopped_calls_turn_cancelled_and_keep_their_time(
    log_in, people, catalog, provider, model_server
):
    slow_search(catalog)
    calls = [
        {"id": f"call_{i}", "name": "slow_search", "arguments": f'{{"q": "term {i}"}}'}
        for i in range(3)
    ]
    model_server.script(Reply(tool_calls=calls))
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/new/")
    page.get_by_label("User message").fill("Search three terms.")
    page.get_by_label(re.compile(r"^slow_search \(")).check()
    page.get_by_role("button", name="Create and run").click()

    chart = page.locator("#round-0-gantt")
    expect(chart.locator("g.call.bar-running")).to_have_count(3, timeout=15_000)
    page.reload()  # the rows and the filter as a person finds them mid-run
    rows = page.locator("#round-0-calls tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.filter(has_text="running")).to_have_count(3)
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#status-badge")).to_have_text("Stopped", timeout=10_000)

    # Live, without a reload: every row and the outcome filter say cancelled, none running.
    expect(rows.filter(has_text="CANCELLED")).to_have_count(3)
    expect(rows.filter(has_text="running")).to_have_count(0)
    outcomes = page.locator("#filter-status option")
    expect(outcomes).to_have_text(["any outcome", "CANCELLED"])
    expect(page.locator("#summary")).to_contain_text("3 CANCELLED")

    page.reload()
    bars = chart.locator("g.call.bar-error rect.run")
    expect(bars).to_have_count(3)
    for i in range(3):
        # They ran until the stop: bars across most of the chart, not 1-px slivers.
        assert float(bars.nth(i).get_attribute("width") or 0) > 100
    wall = page.locator("#summary div", has_text="Tool wall time").locator("dd")
    expect(wall).not_to_have_text("0.00 ms")


def test_a_call_stopped_while_it_waited_for_approval_is_drawn_as_its_wait(
    log_in, people, catalog, provider, model_server
):
    """Not as a failure: the chart shows the wait up to the stop, without the "failed at once"
    marker, and the row says CANCELLED."""
    make_tools(catalog, gated=("get_time",))
    calls = [{"id": "call_t", "name": "get_time", "arguments": '{"city": "Oslo"}'}]
    model_server.script(Reply(tool_calls=calls))
    page = log_in(people.editor)
    build(page)
    expect(page.locator("#status-badge")).to_have_text("Waiting for approval", timeout=15_000)
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#status-badge")).to_have_text("Stopped", timeout=10_000)
    page.reload()
    row = page.locator("#round-0-gantt g.call", has_text="get_time")
    expect(row.locator("rect.wait")).to_have_count(1)
    expect(row.locator("polygon.mark")).to_have_count(0)
    expect(page.locator("#round-0-calls tbody tr", has_text="get_time")).to_contain_text(
        "CANCELLED"
    )
