"""A hand edit that would leave a tool result answering no call (or a call answered twice, or a
turn's calls unanswered before the next one) is refused at its field, by the runner's own pairing
rule, and nothing is saved: the history stays one the next run can send."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from conversations import compose, recording
from conversations.models import Conversation

HX = {"HX-Request": "true"}


def call(n: int) -> dict:
    arguments = json.dumps({"city": ("Oslo", "Lima", "Osaka")[n]})
    return {
        "id": f"call_{n}",
        "type": "function",
        "function": {"name": "get_weather", "arguments": arguments},
    }


CALLS = [call(0), call(1), call(2)]


@pytest.fixture
def conversation(people, provider, tool) -> Conversation:
    """Message 2 is an assistant turn of three calls; messages 3, 4 and 5 their results."""
    data = {"provider": provider, "user": "Weather?", "tools": [tool], "max_rounds": 3}
    created = compose.create_conversation(people.editor.memberships.get().team, people.editor, data)
    recording.append_message(
        created.pk, {"role": "assistant", "content": None, "tool_calls": CALLS}
    )
    for n in range(3):
        recording.append_message(
            created.pk, {"role": "tool", "tool_call_id": f"call_{n}", "content": "{}"}
        )
    return created


def edit_url(conversation: Conversation, position: int) -> str:
    kwargs = {"team": "acme", "conversation": conversation.pk, "position": position}
    return reverse("message_edit", kwargs=kwargs)


def add_url(conversation: Conversation) -> str:
    return reverse("message_add", kwargs={"team": "acme", "conversation": conversation.pk})


def rows_removing_the_third() -> dict[str, str]:
    data = {"content": "", "call-TOTAL_FORMS": "3", "call-INITIAL_FORMS": "3"}
    for n, entry in enumerate(CALLS):
        data.update(
            {
                f"call-{n}-id": entry["id"],
                f"call-{n}-name": "get_weather",
                f"call-{n}-arguments": entry["function"]["arguments"],
            }
        )
    data["call-2-DELETE"] = "on"
    return data


def test_removing_a_call_that_has_a_result_is_refused_on_its_row(people, conversation):
    response = people.client_for("editor").post(
        edit_url(conversation, 1), rows_removing_the_third(), headers=HX
    )
    assert response.status_code == 200
    rows = response.context["form"].calls.forms
    assert rows[2].errors["DELETE"] == [
        "call_2 has a result (message 5): keep the call, or use Fork from here on this turn "
        "and remove it in the fork."
    ]
    assert "call_2 has a result (message 5)" in response.content.decode()
    assert rows[0].errors == {} and rows[1].errors == {}
    stored = conversation.messages.get(position=1)
    assert stored.payload["tool_calls"] == CALLS
    assert stored.edited_at is None


def test_a_result_pointed_at_an_answered_call_is_refused(people, conversation):
    response = people.client_for("editor").post(
        edit_url(conversation, 4), {"tool_call_id": "call_0", "content": "{}"}, headers=HX
    )
    assert list(response.context["form"].errors["tool_call_id"]) == [
        "call_0 already has a result (message 3): edit that one instead."
    ]
    assert conversation.messages.get(position=4).payload["tool_call_id"] == "call_2"


def test_a_result_added_for_an_answered_call_is_refused(people, conversation):
    response = people.client_for("editor").post(
        add_url(conversation), {"role": "tool", "tool_call_id": "call_1", "content": "{}"}
    )
    assert response.status_code == 200
    assert list(response.context["message_form"].errors["tool_call_id"]) == [
        "call_1 already has a result (message 4): edit that one instead."
    ]
    assert conversation.messages.count() == 5


def test_a_turn_added_before_the_calls_are_answered_is_refused(people, conversation):
    conversation.messages.filter(position=4).delete()
    response = people.client_for("editor").post(
        add_url(conversation), {"role": "user", "content": "And Bergen?"}
    )
    assert list(response.context["message_form"].errors["content"]) == [
        "Message 2 has tool calls without a result (call_2) before message 5."
    ]
    assert conversation.messages.count() == 4


def test_a_result_added_for_the_open_call_is_accepted(people, conversation):
    conversation.messages.filter(position=4).delete()
    response = people.client_for("editor").post(
        add_url(conversation), {"role": "tool", "tool_call_id": "call_2", "content": "{}"}
    )
    assert response.status_code == 302
    assert conversation.messages.get(position=4).payload["tool_call_id"] == "call_2"


def test_an_edit_is_not_refused_for_what_was_broken_before_it(people, conversation):
    recording.append_message(conversation.pk, {"role": "tool", "tool_call_id": "x", "content": ""})
    response = people.client_for("editor").post(
        edit_url(conversation, 0), {"content": "Weather, please?"}
    )
    assert response.status_code == 302
    assert conversation.messages.get(position=0).content == "Weather, please?"


def test_the_outsider_cannot_edit(people, conversation):
    response = people.client_for("outsider").post(
        edit_url(conversation, 1), rows_removing_the_third()
    )
    assert response.status_code == 404
    assert conversation.messages.get(position=1).payload["tool_calls"] == CALLS
