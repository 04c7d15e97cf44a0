"""The composer refuses the next user turn while the last assistant turn has calls without a
result: the turn would sit between the calls and the results the next run adds, a history no
provider takes. The refusal is at the field, the typed text kept, nothing saved or started."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from conversations import compose, recording
from conversations.models import Conversation, RunStatus
from tests.support.openai_server import Reply


def call(n: int) -> dict:
    return {
        "id": f"call_{n}",
        "type": "function",
        "function": {"name": "get_weather", "arguments": json.dumps({"city": ("Oslo", "Lima")[n]})},
    }


def asking_for(people, provider, tool, calls: int) -> Conversation:
    """A draft whose last turn is an assistant turn of `calls` calls, none answered."""
    data = {"provider": provider, "user": "Weather?", "tools": [tool], "max_rounds": 3}
    created = compose.create_conversation(people.editor.memberships.get().team, people.editor, data)
    turn = {"role": "assistant", "content": None, "tool_calls": [call(n) for n in range(calls)]}
    recording.append_message(created.pk, turn)
    return created


def url(name: str, conversation: Conversation) -> str:
    return reverse(name, kwargs={"team": "acme", "conversation": conversation.pk})


def test_a_turn_after_open_calls_is_refused_and_the_text_kept(people, provider, tool, model_server):
    conversation = asking_for(people, provider, tool, calls=2)

    response = people.client_for("editor").post(
        url("conversation_send", conversation), {"content": "And in Bergen?"}
    )

    assert response.status_code == 200
    page = response.content.decode()
    assert (
        "The last turn asked for 2 tool calls that have no results yet: Run to execute them, "
        "or write their results with “Add a message by hand” (role tool), before writing the "
        "next message."
    ) in page
    assert "And in Bergen?</textarea>" in page
    assert [m.role for m in conversation.messages.all()] == ["user", "assistant"]
    conversation.refresh_from_db()
    assert conversation.status == RunStatus.DRAFT
    assert model_server.requests == []


def test_after_a_stop_the_refusal_names_continue(people, provider, tool):
    conversation = asking_for(people, provider, tool, calls=1)
    Conversation.objects.filter(pk=conversation.pk).update(status=RunStatus.STOPPED)

    page = people.client_for("editor").post(
        url("conversation_send", conversation), {"content": "Never mind."}
    )

    assert (
        "The last turn asked for a tool call that has no result yet: Continue to execute it, "
        "or write its result with “Add a message by hand” (role tool), before writing the next "
        "message."
    ) in page.content.decode()
    assert conversation.messages.count() == 2


def test_once_the_calls_are_answered_the_turn_is_sent(people, provider, tool, model_server):
    conversation = asking_for(people, provider, tool, calls=1)
    compose.answer_call(
        conversation, {"role": "tool", "tool_call_id": "call_0", "content": "{}"}, people.editor
    )
    model_server.script(Reply(content="Cloudy in Bergen."))

    response = people.client_for("editor").post(
        url("conversation_send", conversation), {"content": "And in Bergen?"}
    )

    assert response["Location"] == url("conversation", conversation)
    assert [m.role for m in conversation.messages.all()] == [
        "user",
        "assistant",
        "tool",
        "user",
        "assistant",
    ]
    assert model_server.requests[0]["body"]["messages"][-1] == {
        "role": "user",
        "content": "And in Bergen?",
    }


@pytest.mark.parametrize(("who", "status"), [("viewer", 403), ("outsider", 404)])
def test_only_editors_are_answered_at_all(people, provider, tool, who, status):
    conversation = asking_for(people, provider, tool, calls=2)
    response = people.client_for(who).post(
        url("conversation_send", conversation), {"content": "And in Bergen?"}
    )
    assert response.status_code == status
    assert "tool calls that have no results" not in response.content.decode()
    assert conversation.messages.count() == 2
