"""A person tries a tool with raw JSON only, and an approval-gated tool with and without the box."""

from __future__ import annotations

from playwright.sync_api import expect

from tools_app import catalog as catalog_ops

ARTIFACTS = "test-artifacts"


def test_raw_json_alone_runs_with_the_required_field_left_empty(log_in, people, tool):
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/tools/get_weather/")
    try_it = page.locator("#try-it")
    expect(try_it.get_by_label("city")).to_have_value("")
    try_it.get_by_label("Arguments (raw JSON)").fill('{"city": "Lima"}')
    try_it.get_by_role("button", name="Run call").click()

    expect(page.locator("#try-result .badge.ok")).to_have_text("OK")
    expect(page.locator("#try-used")).to_contain_text("Ran with the raw JSON arguments")
    expect(page.locator("#try-content")).to_contain_text('"city": "Lima"')
    expect(page.locator("#try-result .error")).to_have_count(0)
    try_it.screenshot(path=f"{ARTIFACTS}/try-it-raw-json-only.png")


def test_an_approval_gated_tool_asks_for_the_box(log_in, people, tool):
    tool.requires_approval = True
    catalog_ops.save_tool(tool, message="needs approval")
    page = log_in(people.editor)
    page.goto("/t/acme/c/travel/tools/get_weather/")
    try_it = page.locator("#try-it")
    try_it.get_by_label("city").fill("Porto")
    try_it.get_by_role("button", name="Run call").click()
    expect(page.locator("#try-result .badge.err")).to_have_text("DENIED")
    expect(page.locator("#try-content")).to_contain_text("requires approval")
    try_it.screenshot(path=f"{ARTIFACTS}/try-it-denied-without-approval.png")

    try_it.get_by_label("I approve running this tool").check()
    try_it.get_by_role("button", name="Run call").click()
    expect(page.locator("#try-result .badge.ok")).to_have_text("OK")
    try_it.screenshot(path=f"{ARTIFACTS}/try-it-approved.png")
