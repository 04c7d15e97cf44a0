"""Transcripts the import tests share: a weather agent loop in each format."""

from __future__ import annotations

import json

WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        },
    },
}
USER = {"role": "user", "content": "Weather in Paris and Oslo?"}
ASK = {
    "role": "assistant",
    "content": None,
    "tool_calls": [
        {
            "id": "c1",
            "type": "function",
            "function": {"name": "get_weather", "arguments": '{"city": "Paris"}'},
        },
        {
            "id": "c2",
            "type": "function",
            "function": {"name": "book_table", "arguments": '{"people": 2}'},
        },
    ],
}
RESULT = {"role": "tool", "tool_call_id": "c1", "content": '{"temp": 21}'}
STRAY = {"role": "tool", "tool_call_id": "zz", "content": "late"}
ANSWER = {"role": "assistant", "content": "Paris: 21 degrees."}
MESSAGES = [USER, ASK, RESULT, STRAY, ANSWER]


def response(message: dict, total: int = 9) -> dict:
    return {
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": total - 1, "completion_tokens": 1, "total_tokens": total},
    }


def messages_array() -> str:
    return json.dumps(MESSAGES)


def body_with_response() -> str:
    return json.dumps(
        {"model": "gpt-4o-mini", "messages": MESSAGES[:4], "tools": [WEATHER], **response(ANSWER)}
    )


def json_lines() -> str:
    first = {
        "request": {"model": "gpt-4o-mini", "messages": [USER], "tools": [WEATHER]},
        "response": response(ASK, 5),
    }
    second = {
        "request": {"model": "gpt-4o-mini", "messages": MESSAGES[:4], "tools": [WEATHER]},
        "response": response(ANSWER),
    }
    return json.dumps(first) + "\n" + json.dumps(second) + "\n"
