"""An admin reads the team's audit trail; an editor finds no way in."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


def test_an_admin_sees_a_new_tool_and_its_try_it_in_the_trail(log_in, people, catalog):
    page = log_in(people.admin)
    page.goto("/t/acme/c/travel/new/")
    page.get_by_label("Name").fill("lookup_order")
    page.get_by_label("Description").fill("Look up an order by its number.")
    page.get_by_label("Parameters").fill(
        '{"type": "object", "properties": {"order": {"type": "integer", '
        '"description": "Order number.", "minimum": 1}}, "required": ["order"]}'
    )
    expect(page.locator("#checks .badge.ok")).to_have_text("Valid")
    page.get_by_role("button", name="Create tool").click()
    expect(page.get_by_text("Saved lookup_order as version 1.")).to_be_visible()
    try_it = page.locator("#try-it")
    try_it.get_by_label("order").fill("42")
    try_it.get_by_role("button", name="Run call").click()
    expect(page.locator("#try-result .badge.ok")).to_have_text("OK")

    page.goto("/t/acme/")
    page.get_by_role("link", name="Audit trail").click()
    expect(page.get_by_role("heading", name="Audit trail")).to_be_visible()
    rows = page.locator("#audit-events tbody tr")
    expect(rows.filter(has_text="tool.create")).to_have_count(1)
    expect(rows.filter(has_text="tool.execute")).to_have_count(1)
    # Each object's kind in the product's words, not a model label.
    expect(rows.filter(has_text="tool.create").locator(".object-type")).to_have_text("tool")
    expect(rows.filter(has_text="tool.execute").locator(".object-type")).to_have_text(
        "tool execution"
    )
    expect(page.locator("#audit-events")).not_to_contain_text("conversations.toolexecution")

    page.get_by_label("Kind").select_option("tool.execute")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("ada")
    expect(rows.first).to_contain_text('"arguments": {"order": 42}')
    expect(page).to_have_url("/t/acme/audit/?actor=&kind=tool.execute&object=&since=&until=")


def test_an_editor_has_no_audit_link_and_is_refused_at_the_url(log_in, people, catalog):
    page = log_in(people.editor)
    page.goto("/t/acme/")
    expect(page.get_by_role("link", name="New catalog")).to_be_visible()
    expect(page.get_by_role("link", name="Audit trail")).to_have_count(0)
    response = page.goto("/t/acme/audit/")
    assert response is not None and response.status == 403
