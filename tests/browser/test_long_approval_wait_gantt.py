"""A person who took 25 minutes to approve a call sees the round's chart with that wait drawn
as a broken axis saying how long it was, while the tools' bars keep readable widths."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_approvals_and_stops_stay_consistent import approved_round

SHOTS = "/tmp/consistency-shots"
MINUTE = 60_000.0


def test_a_long_wait_for_approval_is_compressed_on_the_round_chart(
    log_in, people, catalog, provider, model_server
):
    page = log_in(people.editor)
    executions = approved_round(page, catalog, model_server)
    # The person took 25 minutes to decide (recorded as it would have been, not waited for).
    executions.filter(tool_name="get_weather").update(queued_ms=0, started_ms=0, finished_ms=100)
    asked, decided = 100.0, 100.0 + 25 * MINUTE
    executions.filter(tool_name="get_time").update(
        queued_ms=0,
        approval_asked_ms=asked,
        approval_decided_ms=decided,
        started_ms=decided,
        finished_ms=decided + 100,
    )
    page.reload()

    chart = page.locator("#round-0-gantt svg")
    expect(chart.locator("text.wait-label")).to_have_text("waited 25 min for approval")
    expect(chart.locator("polyline.break")).to_have_count(1)
    for name in ("get_weather", "get_time"):
        bar = chart.locator("g.call", has_text=re.compile(rf"^{name}")).locator("rect.run")
        assert float(bar.get_attribute("width") or 0) >= 40, name
    page.locator("#round-0-gantt").screenshot(path=f"{SHOTS}/long-approval-wait.png")
