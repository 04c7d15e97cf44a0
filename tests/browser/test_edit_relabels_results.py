"""A debugger renames a call in an assistant turn in place: the tool result that answers it
below is labelled with the new tool at once, and a result left untouched keeps its label."""

from __future__ import annotations

import json

from playwright.sync_api import expect

from conversations import compose, recording
from conversations.models import Conversation
from tests.conftest import WEATHER_PARAMETERS
from tools_app import catalog as catalog_ops
from tools_app.models import Tool

SHOT = "test-artifacts/edit-relabels-results.png"


def weather_in_two_cities(team, people, provider, tool, forecast) -> Conversation:
    conversation = compose.create_conversation(
        team,
        people.editor,
        {"provider": provider, "user": "Weather in Oslo and Lima?", "tools": [tool, forecast]},
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
    for city in ("oslo", "lima"):
        recording.append_message(
            conversation.pk,
            {"role": "tool", "tool_call_id": f"call_{city}", "content": '{"success": true}'},
        )
    return conversation


def test_renaming_a_call_relabels_its_result(log_in, people, team, catalog, provider, tool):
    forecast = Tool(
        catalog=catalog,
        name="get_forecast",
        description="Tomorrow's weather for a city.",
        parameters=WEATHER_PARAMETERS,
    )
    catalog_ops.save_tool(forecast)
    conversation = weather_in_two_cities(team, people, provider, tool, forecast)
    page = log_in(people.editor)
    page.goto(f"/t/acme/conversations/{conversation.pk}/")
    messages = page.locator("#messages")
    oslo = messages.locator(".msg.role-tool", has_text="call_oslo")
    lima = messages.locator(".msg.role-tool", has_text="call_lima")
    expect(lima.locator("header")).to_contain_text("result of get_weather")

    assistant = messages.locator(".msg.role-assistant")
    assistant.get_by_role("link", name="Edit").click()
    call = assistant.locator("fieldset.call-row", has_text="call_lima")
    call.get_by_label("Tool").select_option("get_forecast")
    assistant.get_by_role("button", name="Save message").click()

    expect(assistant.get_by_role("textbox")).to_have_count(0)
    expect(assistant).to_contain_text("get_forecast")
    expect(lima.locator("header")).to_contain_text("result of get_forecast")
    expect(oslo.locator("header")).to_contain_text("result of get_weather")
    expect(messages.locator(".msg")).to_have_count(4)
    page.screenshot(path=SHOT, full_page=True)
