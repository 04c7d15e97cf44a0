"""The sides of a compressed wait on a round's chart read to three figures ("30.7 ms",
"11.5 s"), not to the microsecond the record happens to hold."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.models import Conversation
from tests.browser.test_approvals_and_stops_stay_consistent import approved_round


def test_the_broken_axis_labels_are_rounded(log_in, people, catalog, provider, model_server):
    page = log_in(people.editor)
    executions = approved_round(page, catalog, model_server)
    # Recorded times as a real run leaves them: to the microsecond.
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
