"""A person guards a file-reading tool, tries hostile inputs in the Guard lab, and sees a
traversal call refused on the batch's timeline."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tools_app import catalog as catalog_ops
from tools_app.models import Tool

ARTIFACTS = "test-artifacts"


def read_report_tool(catalog) -> Tool:
    tool = Tool(
        catalog=catalog,
        name="read_report",
        description="Read one report from the shared reports folder.",
        parameters={
            "type": "object",
            "properties": {"path": {"type": "string", "description": "File path of the report."}},
            "required": ["path"],
        },
        implementation_config={"response": {"text": "read {{ path }}"}, "latency_ms": 5},
    )
    catalog_ops.save_tool(tool)
    return tool


def test_guard_a_tool_try_it_in_the_lab_and_see_a_traversal_denied(log_in, people, catalog):
    read_report_tool(catalog)
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/tools/read_report/")
    # lint suggests the guard before there is one
    expect(page.locator('#findings li[data-code="wants_guard"]')).to_contain_text(
        'add a guard {"kind": "path", "pointer": "/path"}'
    )

    page.get_by_label("Guards", exact=True).fill('[{"kind": "path", "pointer": "/path"}]')
    expect(page.locator('#findings li[data-code="wants_guard"]')).to_have_count(0)
    page.get_by_role("button", name="Save new version").click()
    expect(page.get_by_text("Saved read_report as version 2.")).to_be_visible()

    lab = page.locator("#guard-lab")
    lab.get_by_label("Your own argument sets").fill('{"path": "reports/../../payroll.csv"}')
    lab.get_by_role("button", name="Run the guard lab").click()
    climb = page.locator("#guard-lab-table tr", has_text="../ climb")
    expect(climb.locator(".badge.ok")).to_have_text("stopped")
    expect(climb).to_contain_text("path")
    expect(climb).to_contain_text("/path")
    mine = page.locator("#guard-lab-table tr", has_text="your line 1")
    expect(mine.locator(".badge.ok")).to_have_text("stopped")
    expect(page.locator("#guard-lab-table tr", has_text="command chaining")).to_contain_text(
        "got through"
    )
    page.locator("#guard-lab").screenshot(path=f"{ARTIFACTS}/guard-lab.png")

    try_it = page.locator("#try-it")
    try_it.get_by_label("path").fill("../../etc/passwd")
    try_it.get_by_role("button", name="Run call").click()
    expect(page.locator("#try-result .badge.err")).to_have_text("DENIED")
    page.locator("#try-result").get_by_role("link", name="record").click()

    expect(page).to_have_url(re.compile(r"/t/acme/batches/\d+/$"))
    row = page.locator("#executions tbody tr")
    expect(row.locator(".badge.err")).to_have_text("DENIED")
    expect(row).to_contain_text(
        "refused by the path guard at /path: the path climbs out of its directory"
    )
    page.screenshot(path=f"{ARTIFACTS}/guard-denied-timeline.png", full_page=True)
