"""A debugger works a conversation by hand: writes a turn, denies a call, forks, exports."""

from __future__ import annotations

import json
import re

from playwright.sync_api import expect

from conversations import compose
from conversations.models import Conversation
from tests.support.openai_server import Reply
from tools_app import catalog as catalog_ops


def test_write_a_turn_by_hand_deny_its_call_fork_filter_and_export(
    log_in, people, team, provider, tool, model_server
):
    tool.requires_approval = True
    catalog_ops.save_tool(tool, message="needs approval")
    conversation = compose.create_conversation(
        team, people.editor, {"provider": provider, "user": "Weather in Bern?", "tools": [tool]}
    )
    model_server.script(Reply(content="I could not check the weather."))
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")

    page.get_by_text("Add a message by hand").click()
    page.get_by_label("Role").select_option("assistant")
    page.get_by_label("Tool calls (JSON)").fill(
        '[{"id": "hand_1", "name": "get_weather", "arguments": {"city": "Bern"}}]'
    )
    page.get_by_role("button", name="Add message").click()
    expect(page.get_by_text("Message added. Continue the run to send it.")).to_be_visible()
    expect(page.locator("#messages .msg.role-assistant")).to_contain_text("hand_1")

    page.get_by_role("button", name="Run", exact=True).click()
    expect(page.locator("#status-badge")).to_have_text("Waiting for approval", timeout=15_000)
    page.get_by_role("button", name="Deny").click()
    expect(page.locator("#status-badge")).to_have_text("Finished", timeout=15_000)
    expect(page.locator("#messages .msg.role-tool")).to_contain_text("DENIED")
    sent = model_server.requests[0]["body"]["messages"][-1]
    assert sent["tool_call_id"] == "hand_1"
    assert json.loads(sent["content"])["error"]["code"] == "DENIED"

    page.reload()
    page.get_by_label("Show calls").select_option("DENIED")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"\?status=DENIED&tool=$"))
    expect(page.locator("#round-0-calls tbody tr")).to_have_count(1)
    expect(page.locator("#round-0-calls")).to_contain_text("DENIED")

    with page.expect_download() as download:
        page.get_by_role("link", name="Export JSON", exact=True).click()
    exported = json.loads(download.value.path().read_text())
    assert [m["role"] for m in exported["messages"]] == ["user", "assistant", "tool", "assistant"]

    page.locator("#messages .msg").first.get_by_role("button", name="Fork from here").click()
    expect(page.get_by_text(re.compile("Forked into"))).to_be_visible()
    expect(page.locator("#messages .msg")).to_have_count(1)
    assert Conversation.objects.count() == 2


def test_a_new_catalog_and_a_provider_edit(log_in, people, team, provider):
    page = log_in(people.admin)
    page.goto("/t/acme/")
    page.get_by_role("link", name="New catalog").click()
    page.get_by_label("Name").fill("Payments")
    page.get_by_role("button", name="Create catalog").click()
    expect(page.get_by_role("heading", name="Payments")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/t/acme/c/payments/$"))

    page.goto("/t/acme/providers/")
    page.get_by_role("link", name="Scripted").click()
    expect(page.get_by_text("Current key: •••• (set)")).to_be_visible()
    page.get_by_label("Default model").fill("another-model")
    page.get_by_role("button", name="Save provider").click()
    expect(page.locator("#providers")).to_contain_text("another-model")
    provider.refresh_from_db()
    assert provider.default_model == "another-model"
