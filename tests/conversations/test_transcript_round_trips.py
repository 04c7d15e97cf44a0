"""Every import format survives export and import again as an equal conversation."""

from __future__ import annotations

import json

import pytest

from conversations.compose import export_openai
from conversations.models import Conversation
from conversations.transcript_import import export_jsonl, import_transcript

from .transcript_samples import body_with_response, json_lines, messages_array


def snapshot(conversation: Conversation) -> dict:
    calls = conversation.model_calls.order_by("round", "pk")
    executions = conversation.batches.values_list(
        "round",
        "executions__tool_call_id",
        "executions__tool_name",
        "executions__raw_arguments",
        "executions__content",
        "executions__error_code",
    )
    return {
        "model": conversation.model,
        "title": conversation.title,
        "messages": [m.payload for m in conversation.messages.all()],
        "calls": [
            (c.round, c.request.get("messages"), c.request.get("tools"), c.response) for c in calls
        ],
        "usage": [(c.total_tokens, c.finish_reason) for c in calls],
        "executions": sorted(executions),
    }


@pytest.mark.parametrize("text", [messages_array(), body_with_response(), json_lines()])
def test_json_lines_export_imports_to_an_equal_conversation(team, text):
    [first] = import_transcript(team, text)
    [again] = import_transcript(team, export_jsonl(first))
    assert snapshot(again) == snapshot(first)


@pytest.mark.parametrize("text", [messages_array(), body_with_response(), json_lines()])
def test_messages_and_tools_export_imports_to_the_same_messages_and_tools(team, text):
    [first] = import_transcript(team, text)
    exported = export_openai(first)
    [again] = import_transcript(team, json.dumps(exported))
    assert [m.payload for m in again.messages.all()] == [m.payload for m in first.messages.all()]
    assert export_openai(again).get("tools") == exported.get("tools")
    assert snapshot(again)["executions"] == snapshot(first)["executions"]
