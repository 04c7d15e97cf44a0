"""A call that ran and succeeded too fast to measure is still a green bar on the batch's chart,
not the red "failed at once" mark, which only a call refused before it ran gets."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from tests.browser.conftest import ARTIFACTS
from tests.browser.test_batch_lab import slow_tool
from tools_app import catalog as catalog_ops
from tools_app.models import Tool


def test_a_call_too_quick_to_measure_reads_as_a_bar_not_as_failed_at_once(log_in, people, catalog):
    slow_tool(catalog)
    catalog_ops.save_tool(
        Tool(
            catalog=catalog,
            name="ping",
            description="Answers at once.",
            parameters={"type": "object", "properties": {}},
            implementation_config={"response": {"pong": True}, "latency_ms": 0},
        )
    )
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/lab/")
    calls = [
        {"name": "lookup_order", "arguments": {"order": 7}},
        {"name": "ping", "arguments": {}},
        {"name": "lookup_order", "arguments": {"order": "seven"}},
    ]
    page.get_by_label("Calls", exact=True).fill(json.dumps(calls))
    page.get_by_role("button", name="Run batch").click()

    expect(page).to_have_url(re.compile(r"/t/acme/batches/\d+/$"))
    quick = page.locator(".gantt g.call.bar-ok", has=page.locator("text.label", has_text="ping"))
    expect(quick).to_have_count(1)
    expect(quick.locator("polygon.mark")).to_have_count(0)
    expect(quick.locator("rect.run")).to_be_visible()
    box = quick.locator("rect.run").bounding_box()
    assert box is not None and box["width"] >= 1, box
    refused = page.locator(".gantt g.call.bar-error")
    expect(refused.locator("polygon.mark")).to_have_count(1)
    expect(page.locator(".gantt polygon.mark")).to_have_count(1)
    ARTIFACTS.mkdir(exist_ok=True)
    page.locator(".gantt").screenshot(path=str(ARTIFACTS / "gantt-quick-call.png"))
