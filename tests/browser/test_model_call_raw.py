"""A conversation debugger opens the raw request of a round and copies it as curl."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from conversations.providers import set_extra_headers
from tests.browser.conftest import ARTIFACTS
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
KEY = "sk-test-key-123456"
HEADER_SECRET = "org-secret-987654"


def test_copy_round_one_as_curl(log_in, people, catalog, provider, model_server, live_url):
    set_extra_headers(provider, {"X-Org-Secret": HEADER_SECRET})
    provider.save()
    catalog_ops.save_tool(Tool(catalog=catalog, name="get_weather", parameters=CITY))
    model_server.script(
        Reply(
            tool_calls=[{"id": "call_1", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]
        ),
        Reply(content="Cold in Oslo."),
    )
    page = log_in(people.editor)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_url)
    page.goto("/t/acme/conversations/new/")
    page.get_by_label("User message").fill("Weather in Oslo?")
    page.get_by_label(re.compile(r"^get_weather \(")).check()
    page.get_by_role("button", name="Create and run").click()
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)

    page.locator("#round-0-model").get_by_role("link", name="Raw").click()
    expect(page.get_by_role("heading", name="Round 1: the raw model call")).to_be_visible()
    request = page.locator("#raw-request-json")
    expect(request).to_contain_text('"content": "Weather in Oslo?"')
    expect(request).to_contain_text('"name": "get_weather"')
    expect(page.locator("#raw-response-json")).to_contain_text('"id": "call_1"')

    page.get_by_role("button", name="Copy as curl").click()
    expect(page.locator("#raw-request .copy-status")).to_have_text("Copied as curl.")
    copied = page.evaluate("navigator.clipboard.readText()")
    assert copied.startswith("curl ")
    assert "Bearer $OPENAI_API_KEY" in copied
    assert "X-Org-Secret" in copied
    assert KEY not in copied and HEADER_SECRET not in copied
    assert KEY not in page.content() and HEADER_SECRET not in page.content()
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "model_call_raw.png"), full_page=True)

    page.go_back()
    expect(page.locator("#round-1-model").get_by_role("link", name="Raw")).to_be_visible()
