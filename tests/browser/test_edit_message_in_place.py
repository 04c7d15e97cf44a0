"""A debugger corrects a conversation's messages where they stand: a tool result as indented
JSON, an assistant turn's call arguments, and a change thought better of with Cancel."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from conversations import compose, recording
from conversations.models import Conversation
from tests.browser.code_editor import replace_code

ARTIFACTS = "test-artifacts"
OSLO = '{"success": true, "result": {"temperature": 3}}'


def calls_and_results(team, people, provider, tool) -> Conversation:
    conversation = compose.create_conversation(
        team,
        people.editor,
        {"provider": provider, "user": "Weather in Oslo and Lima?", "tools": [tool]},
    )
    calls = [
        {
            "id": f"call_{city}",
            "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": city.title()})},
        }
        for city in ("oslo", "lima")
    ]
    recording.append_message(
        conversation.pk, {"role": "assistant", "content": None, "tool_calls": calls}
    )
    recording.append_message(
        conversation.pk, {"role": "tool", "tool_call_id": "call_oslo", "content": OSLO}
    )
    recording.append_message(
        conversation.pk,
        {
            "role": "tool",
            "tool_call_id": "call_lima",
            "content": '{"success": true, "result": {"temperature": 19}}',
        },
    )
    return conversation


def test_edit_messages_in_place(log_in, people, team, provider, tool):
    conversation = calls_and_results(team, people, provider, tool)
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    page.evaluate("window.stillThisPage = true")
    messages = page.locator("#messages")
    oslo = messages.locator(".msg.role-tool", has_text="call_oslo")
    expect(oslo.locator("header")).to_contain_text("result of get_weather")

    oslo.get_by_role("link", name="Edit").click()
    result = oslo.locator("textarea[name=content]")  # what the form sends, behind the editor
    expect(result).to_have_value(json.dumps(json.loads(OSLO), indent=2))
    expect(oslo.get_by_label("Answers the call")).to_have_value("call_oslo")
    expect(messages.locator('[name="role"]')).to_have_count(0)
    replace_code(
        oslo,
        "Result of get_weather (call_oslo)",
        '{\n  "success": true,\n  "result": {"temperature": -3}\n}',
    )
    oslo.get_by_role("button", name="Save message").click()
    expect(oslo.locator("pre")).to_contain_text('"temperature": -3')
    expect(oslo).to_contain_text("edited by hand")
    expect(oslo.get_by_role("textbox")).to_have_count(0)
    assert page.evaluate("window.stillThisPage") is True

    assistant = messages.locator(".msg.role-assistant")
    assistant.get_by_role("link", name="Edit").click()
    lima = assistant.locator("fieldset.call-row", has_text="call_lima")
    arguments = lima.locator("textarea[name$=arguments]")
    expect(arguments).to_have_value('{\n  "city": "Lima"\n}')
    expect(lima.get_by_label("Tool")).to_have_value("get_weather")
    expect(messages.locator('[name="role"]')).to_have_count(0)
    replace_code(lima, "Arguments", '{"city": "Lima",')
    assistant.get_by_role("button", name="Save message").click()
    lima = assistant.locator("fieldset.call-row", has_text="call_lima")
    expect(lima).to_contain_text("Not valid JSON")
    arguments = lima.locator("textarea[name$=arguments]")
    expect(arguments).to_have_attribute("aria-invalid", "true")
    expect(arguments).to_have_value('{"city": "Lima",')
    page.screenshot(path=f"{ARTIFACTS}/edit-message-in-place.png", full_page=True, caret="initial")

    assistant.get_by_role("link", name="Cancel").click()
    expect(assistant.get_by_role("textbox")).to_have_count(0)
    expect(assistant).to_contain_text('"city": "Lima"')
    expect(assistant).not_to_contain_text("edited by hand")
    assert page.evaluate("window.stillThisPage") is True
    page.screenshot(path=f"{ARTIFACTS}/edit-message-cancelled.png", full_page=True, caret="initial")
    stored = conversation.messages.get(position=1).payload["tool_calls"][1]["function"]
    assert stored["arguments"] == '{"city": "Lima"}'
    assert conversation.messages.get(position=2).content == (
        '{"success": true, "result": {"temperature": -3}}'
    )
