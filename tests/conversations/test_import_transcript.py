"""An imported transcript is a recorded conversation: its messages, a model call per answer,
a recorded batch per turn with tool calls, and nothing at all when the input is bad."""

from __future__ import annotations

import pytest

from conversations.models import BatchSource, Conversation, ModelCall, ToolExecution
from conversations.transcript_import import import_transcript, problems_for
from conversations.transcripts import TranscriptError

from .transcript_samples import MESSAGES, body_with_response, json_lines, messages_array


def test_json_lines_become_one_recorded_conversation_with_its_calls(team, people):
    [conversation] = import_transcript(team, json_lines(), user=people.editor)

    assert (conversation.recorded, conversation.model, conversation.created_by) == (
        True,
        "gpt-4o-mini",
        people.editor,
    )
    assert conversation.title == "Weather in Paris and Oslo?"
    assert [m.payload for m in conversation.messages.all()] == MESSAGES
    calls = list(conversation.model_calls.order_by("round"))
    assert [(c.round, c.ok, c.total_tokens, c.finish_reason) for c in calls] == [
        (0, True, 5, "stop"),
        (1, True, 9, "stop"),
    ]
    assert calls[1].request["messages"] == MESSAGES[:4]
    [batch] = conversation.batches.all()
    assert (batch.source, batch.round) == (BatchSource.RECORDED, 0)
    executions = list(batch.executions.order_by("position"))
    assert [(e.tool_call_id, e.tool_name, e.status, e.error_code) for e in executions] == [
        ("c1", "get_weather", "ok", ""),
        ("c2", "book_table", "error", "NO_RESULT"),
    ]
    assert executions[0].result == {"temp": 21}


def test_a_messages_array_gets_a_model_call_per_answer_inferred_from_the_messages(team):
    [conversation] = import_transcript(team, messages_array())
    calls = list(conversation.model_calls.order_by("round"))
    assert [c.request["messages"] for c in calls] == [MESSAGES[:1], MESSAGES[:4]]
    assert calls[0].problems == ["request inferred from the messages"]


def test_problems_are_the_orphans_and_the_tool_not_offered(team):
    [conversation] = import_transcript(team, body_with_response())
    assert [(p.kind, p.position) for p in problems_for(conversation)] == [
        ("not_offered", 1),
        ("no_result", 1),
        ("unmatched_result", 3),
    ]


@pytest.mark.parametrize(
    "text",
    [
        "{oops",
        '[{"role": "user", "content": 1e999}]',
        json_lines() + '{"request": {"messages": "no"}}\n',
        '{"messages": [{"role": "user"}], "tools": "all"}',
    ],
)
def test_bad_input_imports_nothing(team, text):
    with pytest.raises(TranscriptError):
        import_transcript(team, text)
    assert not Conversation.objects.exists()
    assert not ModelCall.objects.exists()
    assert not ToolExecution.objects.exists()


def test_hostile_strings_are_stored_as_visible_escapes(team):
    text = '[{"role": "user", "content": "nul\\u0000 and \\udc00"}]'
    [conversation] = import_transcript(team, text)
    assert conversation.messages.get().payload["content"] == "nul\\u0000 and \\udc00"
