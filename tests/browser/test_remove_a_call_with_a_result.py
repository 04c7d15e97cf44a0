"""A debugger removes a call that already has a result: the form says so at the call, and
nothing is saved, rather than leaving a result that answers no call for the next run to trip on."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from conversations import compose, recording
from conversations.models import Conversation

CITIES = ("Oslo", "Lima", "Osaka")


def three_calls_answered(team, people, provider, tool) -> Conversation:
    conversation = compose.create_conversation(
        team,
        people.editor,
        {"provider": provider, "user": "Weather in Oslo, Lima and Osaka?", "tools": [tool]},
    )
    calls = [
        {
            "id": f"call_demo_0_{n}",
            "type": "function",
            "function": {"name": "get_weather", "arguments": json.dumps({"city": city})},
        }
        for n, city in enumerate(CITIES)
    ]
    recording.append_message(
        conversation.pk, {"role": "assistant", "content": None, "tool_calls": calls}
    )
    for n in range(len(CITIES)):
        recording.append_message(
            conversation.pk,
            {"role": "tool", "tool_call_id": f"call_demo_0_{n}", "content": '{"success": true}'},
        )
    return conversation


def test_removing_a_call_that_has_a_result_is_refused_at_the_call(
    log_in, people, team, provider, tool
):
    conversation = three_calls_answered(team, people, provider, tool)
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    assistant = page.locator("#messages .msg.role-assistant")
    assistant.get_by_role("link", name="Edit").click()
    third = assistant.locator("fieldset.call-row", has_text="call_demo_0_2")
    third.get_by_label("Remove this call").check()
    assistant.get_by_role("button", name="Save message").click()

    third = assistant.locator("fieldset.call-row", has_text="call_demo_0_2")
    expect(third).to_contain_text(
        "call_demo_0_2 has a result (message 5): keep the call, or use Fork from here on this "
        "turn and remove it in the fork."
    )
    expect(third.get_by_label("Remove this call")).to_be_checked()
    expect(assistant).not_to_contain_text("edited by hand")
    page.screenshot(path="test-artifacts/remove-a-call-with-a-result.png", full_page=True)

    page.reload()
    assistant = page.locator("#messages .msg.role-assistant")
    expect(assistant).to_contain_text("call_demo_0_2")
    expect(assistant).not_to_contain_text("edited by hand")
    stored = conversation.messages.get(position=1).payload["tool_calls"]
    assert [c["id"] for c in stored] == ["call_demo_0_0", "call_demo_0_1", "call_demo_0_2"]
