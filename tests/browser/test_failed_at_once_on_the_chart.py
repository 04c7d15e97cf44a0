"""A call refused before it ran still shows on the batch's chart, in the error colour."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_batch_lab import slow_tool


def test_a_refused_call_is_a_visible_mark_on_the_chart(log_in, people, catalog):
    slow_tool(catalog)
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/lab/")
    calls = [
        {"name": "lookup_order", "arguments": {"order": 7}},
        {"name": "lookup_order", "arguments": {"order": "seven"}},
    ]
    page.get_by_label("Calls", exact=True).fill(json.dumps(calls))
    page.get_by_role("button", name="Run batch").click()

    expect(page).to_have_url(re.compile(r"/t/acme/batches/\d+/$"))
    refused = page.locator(".gantt g.call.bar-error")
    expect(refused).to_have_count(1)
    mark = refused.locator("polygon.mark")
    expect(mark).to_be_visible()
    box = mark.bounding_box()
    assert box is not None and box["width"] >= 8 and box["height"] >= 8
    expect(refused.locator("title")).to_have_text(re.compile(r"VALIDATION_ERROR, never ran"))
    expect(page.locator(".legend")).to_contain_text("failed at once")
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".gantt").screenshot(path=str(ARTIFACTS / "gantt-failed-at-once.png"))
