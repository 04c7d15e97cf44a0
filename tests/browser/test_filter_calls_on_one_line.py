"""The calls filter above the rounds is one compact line: its label, the outcome and tool menus
and the button side by side, not three full-width rows."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.management.commands.bench_pages import make_conversation
from tests.browser.conftest import COUNT_SNAPSHOTS, after_the_snapshot

SHOT = "test-artifacts/filter-calls.png"


def test_the_calls_filter_is_one_line(log_in, people, team):
    conversation = make_conversation(team, rounds=2)
    page = log_in(people.viewer)
    page.add_init_script(COUNT_SNAPSHOTS)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    after_the_snapshot(page)  # it redraws the filter, which is measured after it
    form = page.locator("form.filter-calls")
    expect(form).to_be_visible()
    outcome = page.get_by_label("Show calls").bounding_box()
    tool = form.locator("select[name=tool]").bounding_box()
    button = form.get_by_role("button", name="Filter").bounding_box()
    assert outcome and tool and button
    assert abs(outcome["y"] - tool["y"]) < 4 and abs(tool["y"] - button["y"]) < 8
    page.get_by_label("Show calls").select_option("ok")
    form.get_by_role("button", name="Filter").click()
    expect(page.get_by_role("link", name="Clear")).to_be_visible()
    after_the_snapshot(page)  # it redraws the filter; the picture is taken after it
    form.screenshot(path=SHOT)
