"""A person studies concurrency in the Batch lab and tries a tool by hand."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tools_app import catalog as catalog_ops
from tools_app.models import Tool

SPEEDUP = re.compile(r"^\d+\.\d\d\u00d7$")
SECONDS = re.compile(r"^\d+\.\d+ s$")


def slow_tool(catalog) -> Tool:
    tool = Tool(
        catalog=catalog,
        name="lookup_order",
        description="Look up an order by its number.",
        parameters={
            "type": "object",
            "properties": {"order": {"type": "integer", "description": "Order number."}},
            "required": ["order"],
        },
        implementation_config={"response": {"order": "{{ order }}"}, "latency_ms": 60},
    )
    catalog_ops.save_tool(tool)
    return tool


def test_run_a_batch_and_read_its_chart(log_in, people, catalog):
    slow_tool(catalog)
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/")
    page.get_by_role("link", name="Batch lab").click()
    page.get_by_label("How many").fill("12")
    page.get_by_role("button", name="Fill").click()
    expect(page.get_by_label("Calls", exact=True)).to_have_value(re.compile(r'"order": 12\b'))
    page.get_by_role("button", name="Run batch").click()

    expect(page).to_have_url(re.compile(r"/t/acme/batches/\d+/$"))
    expect(page.locator(".gantt g.call.bar-ok")).to_have_count(12)
    expect(page.locator("#executions tbody tr")).to_have_count(12)
    expect(page.locator(".stats .speedup")).to_have_text(SPEEDUP)
    expect(page.get_by_role("img", name=re.compile(r"Timeline of 12 calls"))).to_be_visible()


def test_compare_strategies_side_by_side(log_in, people, catalog):
    slow_tool(catalog)
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/lab/")
    page.get_by_role("button", name="Compare strategies").click()
    expect(page.get_by_role("heading", name="The same batch under each strategy")).to_be_visible()
    for strategy in ("sequential", "threads", "asyncio"):
        panel = page.locator(f'section[data-strategy="{strategy}"]')
        expect(panel.locator("g.call")).to_have_count(8)
        expect(panel.locator(".speedup")).to_have_text(SPEEDUP)


def test_try_a_tool_and_see_a_validation_error(log_in, people, catalog):
    slow_tool(catalog)
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/tools/lookup_order/")
    try_it = page.locator("#try-it")
    try_it.get_by_label("order").fill("42")
    try_it.get_by_role("button", name="Run call").click()
    expect(page.locator("#try-result .badge.ok")).to_have_text("OK")
    expect(page.locator("#try-content")).to_contain_text('"order": 42')

    try_it.get_by_label("Arguments (raw JSON)").fill('{"order": "forty-two"}')
    try_it.get_by_role("button", name="Run call").click()
    expect(page.locator("#try-result .badge.err")).to_have_text("VALIDATION_ERROR")


def test_times_past_a_second_read_in_seconds(log_in, people, catalog):
    tool = slow_tool(catalog)
    tool.implementation_config = {**tool.implementation_config, "latency_ms": 1000}
    catalog_ops.save_tool(tool)
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/tools/lookup_order/")
    try_it = page.locator("#try-it")
    try_it.get_by_label("order").fill("7")
    try_it.get_by_role("button", name="Run call").click()
    expect(page.locator("#try-result .badge.ok")).to_have_text("OK")
    expect(page.locator("#try-duration")).to_have_text(SECONDS)

    page.goto("/t/acme/c/travel/lab/")
    page.get_by_label("How many").fill("2")
    page.get_by_role("button", name="Fill").click()
    page.get_by_label("Strategy").select_option("sequential")
    page.get_by_role("button", name="Run batch").click()
    expect(page).to_have_url(re.compile(r"/t/acme/batches/\d+/$"))
    expect(page.locator(".stats .wall")).to_have_text(SECONDS)
    expect(page.locator(".stats .sum")).to_have_text(SECONDS)
