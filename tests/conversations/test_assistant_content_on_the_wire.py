"""An assistant turn with tool calls and no text goes out with `"content": ""`, which every
server takes (llama-cpp-python answers null with a 500), and is kept as recorded (null)."""

from __future__ import annotations

from asgiref.sync import async_to_sync

from conversations import compose
from conversations.models import RunStatus
from conversations.runner import run_conversation, wire_message
from tests.support.openai_server import Reply

OSLO = [{"id": "call_oslo", "name": "get_weather", "arguments": '{"city": "Oslo"}'}]
LIMA = [{"id": "call_lima", "name": "get_weather", "arguments": '{"city": "Lima"}'}]


def start(team, people, provider, tools):
    data = {"provider": provider, "user": "Weather in Oslo, then Lima?", "tools": tools}
    return compose.create_conversation(team, people.editor, {**data, "max_rounds": 5})


def test_a_multi_round_conversation_finishes_against_a_server_that_refuses_null_content(
    team, people, provider, tool, model_server
):
    model_server.reject_null_content = True
    model_server.script(
        Reply(tool_calls=OSLO), Reply(tool_calls=LIMA), Reply(content="Cold, then mild.")
    )
    conversation = start(team, people, provider, [tool])

    assert async_to_sync(run_conversation)(conversation.pk) == RunStatus.FINISHED

    sent = [r["body"]["messages"] for r in model_server.requests]
    assert len(sent) == 3
    assistants = [m for m in sent[2] if m["role"] == "assistant"]
    assert [m["content"] for m in assistants] == ["", ""]
    assert [m["tool_calls"][0]["id"] for m in assistants] == ["call_oslo", "call_lima"]
    stored = conversation.messages.filter(role="assistant")
    assert [m.payload.get("content") for m in stored] == [None, None, "Cold, then mild."]


def test_the_model_call_records_the_request_as_it_was_sent(
    team, people, provider, tool, model_server
):
    model_server.script(Reply(tool_calls=OSLO), Reply(content="Cold."))
    conversation = start(team, people, provider, [tool])
    async_to_sync(run_conversation)(conversation.pk)
    second = conversation.model_calls.get(round=1)
    assert second.request["messages"][1]["content"] == ""
    assert second.request["messages"][1:] == model_server.requests[1]["body"]["messages"][1:]


def test_the_export_keeps_the_messages_as_the_provider_returned_them(
    team, people, provider, tool, model_server
):
    model_server.script(Reply(tool_calls=OSLO), Reply(content="Cold."))
    conversation = start(team, people, provider, [tool])
    async_to_sync(run_conversation)(conversation.pk)
    exported = compose.export_openai(conversation)["messages"]
    assert exported[1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "call_oslo",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
            }
        ],
    }


def test_only_tool_calling_turns_without_text_change():
    calls = [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}]
    with_text = {"role": "assistant", "content": "Let me look.", "tool_calls": calls}
    answer = {"role": "assistant", "content": "Done."}
    user = {"role": "user", "content": "Hi"}
    assert wire_message({"role": "assistant", "content": None, "tool_calls": calls}) == {
        "role": "assistant",
        "content": "",
        "tool_calls": calls,
    }
    assert wire_message({"role": "assistant", "tool_calls": calls})["content"] == ""
    assert wire_message(with_text) == with_text
    assert wire_message(answer) == answer
    assert wire_message(user) == user
