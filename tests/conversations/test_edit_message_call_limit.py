"""An assistant turn keeps at most 128 calls when edited: a crafted form count is refused,
not saved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from conversations import compose, recording
from conversations.models import Conversation

OSLO = {
    "id": "c1",
    "type": "function",
    "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
}


@pytest.fixture
def conversation(people, provider, tool) -> Conversation:
    data = {"provider": provider, "user": "Weather?", "tools": [tool], "max_rounds": 3}
    created = compose.create_conversation(people.editor.memberships.get().team, people.editor, data)
    recording.append_message(
        created.pk, {"role": "assistant", "content": None, "tool_calls": [OSLO]}
    )
    return created


def test_more_than_128_calls_are_refused_and_nothing_is_saved(people, conversation):
    total = 200
    data = {"content": "", "call-TOTAL_FORMS": str(total), "call-INITIAL_FORMS": "1"}
    for index in range(total):
        data[f"call-{index}-id"] = "c1" if index == 0 else ""
        data[f"call-{index}-name"] = "get_weather"
        data[f"call-{index}-arguments"] = '{"city": "Oslo"}'
    url = reverse(
        "message_edit", kwargs={"team": "acme", "conversation": conversation.pk, "position": 1}
    )
    response = people.client_for("editor").post(url, data, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "A message takes at most 128 tool calls." in response.content.decode()
    assert conversation.messages.get(position=1).payload["tool_calls"] == [OSLO]
