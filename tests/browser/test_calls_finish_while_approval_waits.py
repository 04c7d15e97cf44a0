"""A round waits for a person's approval while its other calls are still running: when they
finish, the calls table and the totals say so at once, not only after the decision."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_approvals_and_stops_stay_consistent import CITY
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

SHOT = "test-artifacts/calls-finish-while-approval-waits.png"


def test_a_slow_call_finishing_during_the_wait_shows_ok(
    log_in, people, catalog, provider, model_server
):
    for name, gated, latency in (("get_weather", False, 400), ("send_alert", True, 10)):
        tool = Tool(
            catalog=catalog,
            name=name,
            description=f"{name} for a city.",
            parameters=CITY,
            requires_approval=gated,
            implementation_config={"response": {"city": "{{ city }}"}, "latency_ms": latency},
        )
        catalog_ops.save_tool(tool)
    calls = [
        {"id": "call_w", "name": "get_weather", "arguments": '{"city": "Oslo"}'},
        {"id": "call_a", "name": "send_alert", "arguments": '{"city": "Oslo"}'},
    ]
    model_server.script(Reply(tool_calls=calls), Reply(content="Sunny; no alert sent."))
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/new/")
    page.get_by_label("User message").fill("Weather in Oslo, and alert me")
    for name in ("get_weather", "send_alert"):
        page.get_by_label(re.compile(rf"^{name} \(")).check()
    page.get_by_role("button", name="Create and run").click()

    expect(page.locator("#status-badge")).to_have_text("Waiting for approval", timeout=15_000)
    rows = page.locator("#round-0-calls tr")
    weather = rows.filter(has_text="get_weather")
    # Asked while the weather call still ran; it finishes during the wait.
    expect(weather.locator(".badge")).to_have_text("OK")
    expect(weather.locator("td").nth(2)).not_to_have_text("—")
    summary = page.locator("#summary")
    expect(summary).to_contain_text("1 OK")
    expect(summary).to_contain_text("1 WAITING FOR APPROVAL")
    expect(summary).not_to_contain_text("RUNNING")
    # The round is still open: the times count the finished weather call, not "0.00 ms".
    wall = summary.locator("div", has_text="Tool wall time").locator("dd")
    for shown in (wall, page.locator("#summary-sum")):
        expect(shown).to_have_text(re.compile(r"^\d+(\.\d+)? (ms|s)$"))
        expect(shown).not_to_have_text("0.00 ms")
    expect(rows.filter(has_text="send_alert").get_by_role("button", name="Deny")).to_be_visible()
    page.screenshot(path=SHOT, full_page=True)

    rows.filter(has_text="send_alert").get_by_role("button", name="Deny").click()
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    expect(summary).to_contain_text("1 DENIED")
    expect(weather.locator(".badge")).to_have_text("OK")
