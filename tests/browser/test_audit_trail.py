"""An admin reads the team's audit trail, a long token name wrapping in it; an editor finds no
way in."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from conversations.tokens import create_token
from fcstudio import audit
from tests.browser.conftest import table_fit
from tests.browser.test_long_token_names import LONG

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
    # The call's outcome as every page names it.
    called = rows.filter(has_text="tool.execute").locator("td").nth(3)
    expect(called).to_contain_text(re.compile(r"^lookup_order \(.+\): OK\b"))

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


def test_a_long_token_name_as_actor_wraps_and_keeps_the_details_in_view(
    page, log_in, people, team, provider
):
    token, _ = create_token(team, provider, name=LONG[:100])
    # The token acts in a proxied exchange; its creation's row names it as the object.
    audit.record(team, audit.Kind.PROXY_EXCHANGE, actor=token, details={"status": 200})
    log_in(people.admin)
    page.set_viewport_size({"width": 1366, "height": 800})
    page.goto("/t/acme/audit/")
    row = page.locator("#audit-events tbody tr.audit-proxyexchange")
    expect(row.locator("td").nth(2)).to_have_text(LONG[:100])
    expect(page.get_by_role("columnheader", name="Details")).to_be_in_viewport()
    overflow, name_lines = table_fit(page, "#audit-events", ".audit-proxyexchange td.long-name")
    assert overflow <= 0, f"the audit table scrolls sideways by {overflow} px"
    assert name_lines >= 2
