"""`provider.read_answer`: an answer's bytes, as relayed by the recording proxy, read as the
studio's own client reads one (plain or streamed, errors and truncation included)."""

import json

import pytest

from conversations.provider import ProviderError, read_answer


def _chunk(delta, finish=None):
    body = {"choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}
    return b"data: " + json.dumps(body).encode() + b"\n\n"


def test_a_plain_answer_is_read_with_its_tool_calls():
    body = json.dumps(
        {
            "choices": [
                {
                    "message": {
                        "role": "assistant",
                        "content": None,
                        "tool_calls": [
                            {
                                "id": "call_1",
                                "type": "function",
                                "function": {"name": "add", "arguments": '{"a": 1}'},
                            }
                        ],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
        }
    ).encode()
    turn = read_answer(body, stream=False)
    assert [(call.id, call.name, call.arguments) for call in turn.tool_calls] == [
        ("call_1", "add", '{"a": 1}')
    ]
    assert turn.finish_reason == "tool_calls"
    assert turn.usage == {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5}


def test_a_stream_is_reassembled_up_to_done():
    body = _chunk({"content": "Hel"}) + _chunk({"content": "lo"}) + _chunk({}, "stop")
    turn = read_answer(body + b"data: [DONE]\n\n", stream=True)
    assert (turn.content, turn.finish_reason, turn.problems) == ("Hello", "stop", [])


def test_an_error_event_mid_stream_is_a_server_error():
    body = _chunk({"content": "Hel"}) + b'data: {"error": {"message": "overloaded"}}\n\n'
    with pytest.raises(ProviderError) as raised:
        read_answer(body, stream=True)
    assert raised.value.kind == "server"
    assert "overloaded" in raised.value.message


def test_a_stream_without_a_finish_reason_is_truncated():
    with pytest.raises(ProviderError) as raised:
        read_answer(_chunk({"content": "Hel"}), stream=True)
    assert raised.value.kind == "malformed"


def test_a_body_that_is_not_json_raises_value_error():
    with pytest.raises(ValueError):
        read_answer(b"<html>", stream=False)
