"""The sides of a compressed wait on a round's chart read to three figures ("30.7 ms",
"11.5 s"), not to the microsecond the record happens to hold."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.models import Conversation
from tests.browser.test_approvals_and_stops_stay_consistent import build, make_tools
from tests.support.openai_server import Reply


def test_the_broken_axis_labels_are_rounded(log_in, people, catalog, provider, model_server):
    make_tools(catalog, gated=("get_time",))
    calls = [
        {"id": f"call_{i}", "name": name, "arguments": '{"city": "Oslo"}'}
        for i, name in enumerate(["get_weather", "get_time"])
    ]
    model_server.script(Reply(tool_calls=calls), Reply(content="It is noon in Oslo."))
    page = log_in(people.editor)
    build(page)
    clock = page.locator("#round-0-calls tr").filter(has_text="get_time")
    clock.get_by_role("button", name="Approve").click()
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)

    # Recorded times as a real run leaves them: to the microsecond.
    executions = Conversation.objects.get().batches.get().executions
    executions.filter(tool_name="get_weather").update(queued_ms=0, started_ms=0, finished_ms=30.653)
    executions.filter(tool_name="get_time").update(
        queued_ms=0,
        approval_asked_ms=30.653,
        approval_decided_ms=11539.2,
        started_ms=11539.2,
        finished_ms=11600.0,
    )
    Conversation.objects.get().model_calls.update(duration_ms=0)
    page.reload()

    chart = page.locator("#round-0-gantt svg")
    expect(chart.locator("polyline.break")).to_have_count(1)
    ticks = chart.locator("text.tick")
    expect(ticks.filter(has_text="30.7 ms")).to_have_count(1)
    expect(ticks.filter(has_text="11.5 s")).to_have_count(1)
    expect(ticks.filter(has_text="30.653 ms")).to_have_count(0)
    expect(ticks.filter(has_text="11.5392 s")).to_have_count(0)
