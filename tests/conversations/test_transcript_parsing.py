"""Reading transcripts: the formats, how exchanges group, what is wrong, inferred schemas."""

from __future__ import annotations

import json

import pytest

from conversations.transcripts import (
    TranscriptError,
    find_problems,
    infer_schema,
    parse_transcript,
    tool_candidates,
)

LIMIT = 1_000_000
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}


def call(call_id: str, name: str, arguments: str) -> dict:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


USER = {"role": "user", "content": "Weather in Paris?"}
ASK = {
    "role": "assistant",
    "content": None,
    "tool_calls": [call("c1", "get_weather", '{"city": "Paris"}')],
}
RESULT = {"role": "tool", "tool_call_id": "c1", "content": '{"temp": 21}'}
ANSWER = {"role": "assistant", "content": "21 degrees."}


def response(message: dict) -> dict:
    return {
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"total_tokens": 9},
    }


def test_a_messages_array_is_one_conversation_with_an_inferred_request_per_answer():
    parsed = parse_transcript(json.dumps([USER, ASK, RESULT, ANSWER]), max_bytes=LIMIT)
    assert parsed.format == "messages"
    [conversation] = parsed.conversations
    assert conversation.messages == [USER, ASK, RESULT, ANSWER]
    assert [e.position for e in conversation.exchanges] == [1, 3]
    assert all(e.inferred for e in conversation.exchanges)
    assert conversation.exchanges[1].request["messages"] == [USER, ASK, RESULT]
    assert conversation.title == "Weather in Paris?"


def test_a_body_with_its_response_pairs_the_request_with_the_answer():
    body = {"model": "m", "messages": [USER], "tools": [WEATHER], **response(ASK)}
    [conversation] = parse_transcript(json.dumps(body), max_bytes=LIMIT).conversations
    assert conversation.messages == [USER, ASK]
    assert conversation.tools == [WEATHER]
    [exchange] = conversation.exchanges
    assert not exchange.inferred
    assert exchange.usage == {"total_tokens": 9}
    assert exchange.finish_reason == "stop"
    assert "choices" not in exchange.request


def test_a_request_response_object_is_read_like_a_body_with_choices():
    record = {"request": {"model": "m", "messages": [USER]}, "response": response(ASK)}
    [conversation] = parse_transcript(json.dumps(record), max_bytes=LIMIT).conversations
    assert conversation.model == "m"
    assert conversation.messages == [USER, ASK]


def test_json_lines_that_extend_each_other_are_one_conversation_and_others_start_a_new_one():
    lines = [
        {"request": {"messages": [USER], "tools": [WEATHER]}, "response": response(ASK)},
        {
            "request": {"messages": [USER, ASK, RESULT], "tools": [WEATHER]},
            "response": response(ANSWER),
        },
        {
            "request": {"messages": [{"role": "user", "content": "Hi"}]},
            "response": response(ANSWER),
        },
    ]
    parsed = parse_transcript("\n".join(json.dumps(line) for line in lines), max_bytes=LIMIT)
    assert parsed.format == "jsonl"
    first, second = parsed.conversations
    assert first.messages == [USER, ASK, RESULT, ANSWER]
    assert [e.position for e in first.exchanges] == [1, 3]
    assert second.messages == [{"role": "user", "content": "Hi"}, ANSWER]


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("{not json", "not JSON"),
        ("[1e999]", "too large"),
        ('{"messages": NaN}', "NaN"),
        ("42", "a number"),
        ('{"model": "m"}', "neither"),
        ('[{"role": "wizard"}]', "role"),
        ('[{"role": "user"}, 3]', "Message 2"),
        ('{"messages": [], "tools": [{"type": "function"}]}', "Tool 1"),
        ('{"request": {"messages": []}, "response": {"choices": []}}', "no choices"),
        ('{"request": {"messages": []}}\n{oops', "Line 2"),
        ("   ", "empty"),
    ],
)
def test_bad_input_is_refused_with_a_reason(text, says):
    with pytest.raises(TranscriptError, match=says):
        parse_transcript(text, max_bytes=LIMIT)


def test_oversized_input_is_refused_before_parsing():
    with pytest.raises(TranscriptError, match="limit"):
        parse_transcript(json.dumps([USER] * 100), max_bytes=100)


def test_hostile_strings_are_kept_visible():
    text = '[{"role": "user", "content": "a\\u0000b\\ud800c"}]'
    [conversation] = parse_transcript(text, max_bytes=LIMIT).conversations
    assert conversation.messages[0]["content"] == "a\\u0000b\\ud800c"


def test_problems_name_orphans_bad_arguments_and_tools_not_offered():
    messages = [
        USER,
        {
            "role": "assistant",
            "tool_calls": [
                call("c1", "get_weather", '{"town": "Paris"}'),
                call("c2", "get_weather", "{oops"),
                call("c3", "book_table", '{"people": 2}'),
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "content": "{}"},
        {"role": "tool", "tool_call_id": "c2", "content": "{}"},
        {"role": "tool", "tool_call_id": "zz", "content": "{}"},
    ]
    kinds = [(p.kind, p.position) for p in find_problems(messages, [WEATHER])]
    assert kinds == [
        ("invalid_arguments", 1),
        ("invalid_arguments", 1),
        ("not_offered", 1),
        ("no_result", 1),
        ("unmatched_result", 4),
    ]


def test_arguments_that_are_not_json_are_a_problem_even_for_a_tool_not_offered():
    messages = [
        USER,
        {"role": "assistant", "tool_calls": [call("c1", "book_table", "{bad")]},
        {"role": "tool", "tool_call_id": "c1", "content": "{}"},
    ]
    assert [(p.kind, p.message) for p in find_problems(messages, [WEATHER])] == [
        ("not_offered", "Message 2: “book_table” is called but not offered in tools."),
        (
            "invalid_arguments",
            "Message 2: “book_table” (c1): arguments are not valid JSON: Expecting property "
            "name enclosed in double quotes at line 1 column 2",
        ),
    ]
    # Each call with such arguments is named, also after the tool was reported not offered.
    messages[1] = {
        "role": "assistant",
        "tool_calls": [call("c1", "book_table", "{bad"), call("c2", "book_table", "[1]")],
    }
    messages.append({"role": "tool", "tool_call_id": "c2", "content": "{}"})
    kinds = [p.kind for p in find_problems(messages, [])]
    assert kinds == ["not_offered", "invalid_arguments", "invalid_arguments"]


def test_a_clean_transcript_has_no_problems():
    assert find_problems([USER, ASK, RESULT, ANSWER], [WEATHER]) == []


def test_schemas_are_inferred_from_every_call():
    schema = infer_schema(
        [{"city": "Paris", "days": 2}, {"city": "Oslo", "days": 2.5, "metric": True}]
    )
    assert schema == {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "days": {"type": "number"},
            "metric": {"type": "boolean"},
        },
        "required": ["city", "days"],
    }


def test_mixed_types_become_a_type_list():
    assert infer_schema([{"id": 1}, {"id": "a"}])["properties"]["id"] == {
        "type": ["integer", "string"]
    }


def test_candidates_keep_offered_schemas_and_infer_the_rest():
    messages = [USER, ASK, {"role": "assistant", "tool_calls": [call("c9", "book", '{"n": 2}')]}]
    candidates = {c.name: c for c in tool_candidates(messages, [WEATHER])}
    assert candidates["get_weather"].inferred is False
    assert candidates["get_weather"].parameters == WEATHER["function"]["parameters"]
    assert candidates["book"].inferred is True
    assert candidates["book"].parameters["required"] == ["n"]
    assert candidates["book"].calls == 1
