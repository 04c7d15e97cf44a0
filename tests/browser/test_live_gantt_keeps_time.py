"""While slow calls run, the round's chart keeps time: the running bars and the axis grow as the
seconds pass, on the live page and on a page reloaded mid-run; a call waiting for approval
shows its wait growing too."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.browser.test_stop_cancels_running_calls import slow_search
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

GROWS = """([selector, attribute, before]) => {
    const node = document.querySelector(selector);
    return node !== null && parseFloat(node.getAttribute(attribute)) > before;
}"""


def grows(page, selector: str, attribute: str) -> None:
    """The attribute's value, read now, is exceeded later (polled by the browser, no sleep)."""
    before = float(page.locator(selector).first.get_attribute(attribute) or 0)
    page.wait_for_function(GROWS, arg=[selector, attribute, before], timeout=10_000)


def test_running_and_waiting_bars_grow_with_time(log_in, people, catalog, provider, model_server):
    slow_search(catalog)
    gated = Tool(
        catalog=catalog,
        name="refund",
        description="Refund an order.",
        parameters={"type": "object", "properties": {"q": {"type": "string"}}},
        requires_approval=True,
        implementation_config={"response": {"ok": True}, "latency_ms": 10},
    )
    catalog_ops.save_tool(gated)
    calls = [
        {"id": "call_0", "name": "slow_search", "arguments": '{"q": "term"}'},
        {"id": "call_1", "name": "refund", "arguments": '{"q": "order 7"}'},
    ]
    model_server.script(Reply(tool_calls=calls))
    page = log_in(people.editor)
    page.goto("/t/acme/conversations/new/")
    page.get_by_label("User message").fill("Search and refund.")
    page.get_by_label(re.compile(r"^slow_search \(")).check()
    page.get_by_label(re.compile(r"^refund \(")).check()
    page.get_by_role("button", name="Create and run").click()

    running = "#round-0-gantt g.call.bar-running rect.run"
    waiting = "#round-0-gantt g.call rect.wait"
    span = "#round-0-gantt svg"
    expect(page.locator(running)).to_have_count(1, timeout=15_000)
    expect(page.locator(waiting)).to_have_count(1)
    for reload in (False, True):  # live, then on a page reloaded mid-run
        if reload:
            page.reload()
            expect(page.locator(running)).to_have_count(1)
        grows(page, span, "data-span-ms")
        grows(page, running, "width")
        grows(page, waiting, "width")
    page.get_by_role("button", name="Stop").click()
    expect(page.locator("#status-badge")).to_have_text("Stopped", timeout=10_000)
