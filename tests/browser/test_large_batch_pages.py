"""A person reads a batch of 250 calls: the chart shows them all, the table a hundred a page."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from conversations.management.commands.bench_pages import make_batch


def test_a_person_pages_through_the_calls_of_a_large_batch(log_in, people, team):
    batch = make_batch(team, 250)
    page = log_in(people.viewer)
    page.goto(f"/t/acme/batches/{batch.pk}/")

    expect(page.locator("figure.gantt g.call")).to_have_count(250)
    rows = page.locator("#executions tbody tr")
    expect(rows).to_have_count(100)
    expect(rows.first.locator("td").first).to_have_text("1")
    pager = page.get_by_role("navigation", name="Pages of calls").first
    expect(pager).to_contain_text("Calls 1\u2013100 of 250 · page 1 of 3")

    pager.get_by_role("link", name="Next →").click()
    expect(pager).to_contain_text("Calls 101\u2013200 of 250 · page 2 of 3")
    expect(rows.first.locator("td").first).to_have_text("101")
    expect(page).to_have_url(re.compile(r"\?page=2$"))
    expect(page.locator("figure.gantt g.call")).to_have_count(250)

    pager.get_by_role("link", name="Next →").click()
    expect(rows).to_have_count(50)
    expect(pager.get_by_role("link", name="Next →")).to_have_count(0)
    pager.get_by_role("link", name="← Previous").click()
    expect(rows.first.locator("td").first).to_have_text("101")
