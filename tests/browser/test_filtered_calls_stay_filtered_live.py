"""A page opened on some calls (Show calls: TIMEOUT) still lists only those once its socket has
caught up: the snapshot redraws the rounds with the page's filter, not every call."""

from __future__ import annotations

from playwright.sync_api import expect

from conversations.management.commands.bench_pages import make_conversation
from tests.browser.conftest import COUNT_SNAPSHOTS, after_the_snapshot


def test_a_filtered_page_keeps_its_rows_after_the_snapshot(log_in, people, team):
    # Two rounds of eight calls: fourteen ok, one TIMEOUT in each round.
    conversation = make_conversation(team, rounds=2, calls_per_round=8)
    page = log_in(people.viewer)
    page.add_init_script(COUNT_SNAPSHOTS)
    page.goto(f"/t/acme/conversations/{conversation.pk}/?status=TIMEOUT&tool=")
    rows = page.locator("#rounds table.calls tbody tr")
    expect(rows).to_have_count(2)

    after_the_snapshot(page)
    expect(rows).to_have_count(2)
    expect(rows.locator(".badge.err")).to_have_text(["TIMEOUT", "TIMEOUT"])
    expect(page.get_by_label("Show calls")).to_have_value("TIMEOUT")
    expect(page.locator("#summary")).to_contain_text("14 OK")
