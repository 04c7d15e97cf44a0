"""The public demo model refuses a body over 1 MB unread, with an OpenAI-style 413 error object,
and still answers the largest conversation a demo has: 128 tools, six rounds of eight calls."""

from __future__ import annotations

import json

import httpx2
import pytest
from django.core.asgi import get_asgi_application
from django.test import Client
from openai import APIStatusError, AsyncOpenAI

from conversations import demo_model

URL = "/demo-model/v1/chat/completions"


def tool(n: int) -> dict:
    """A tool the size of BFCL's largest schemas (some 700 bytes)."""
    properties = {
        f"option_{p}": {
            "type": "string",
            "description": f"Option {p} of the forecast, as the provider spells it.",
            "enum": ["hourly", "daily", "weekly"],
        }
        for p in range(6)
    }
    return {
        "type": "function",
        "function": {
            "name": f"get_weather_{n}",
            "description": "The weather forecast for a city, hour by hour or day by day.",
            "parameters": {"type": "object", "properties": properties, "required": ["option_0"]},
        },
    }


def largest_demo_body() -> bytes:
    messages = [
        {"role": "system", "content": "s" * 2_000},
        {"role": "user", "content": "Weather in Oslo? " + "u" * 3_980},
    ]
    for round_number in range(6):
        ids = [f"call_demo_{round_number}_{n}" for n in range(8)]
        calls = [
            {"id": i, "type": "function", "function": {"name": "get_weather_0", "arguments": "{}"}}
            for i in ids
        ]
        messages.append({"role": "assistant", "content": None, "tool_calls": calls})
        messages += [{"role": "tool", "tool_call_id": i, "content": "r" * 4_000} for i in ids]
    body = {
        "model": demo_model.MODEL_ID,
        "messages": messages,
        "tools": [tool(n) for n in range(128)],
    }
    return json.dumps(body).encode()


def test_the_largest_demo_conversation_fits():
    body = largest_demo_body()
    assert 250_000 < len(body) < 1024 * 1024 // 2

    response = Client().post(URL, body, content_type="application/json")

    assert response.status_code == 200
    assert response.json()["object"] == "chat.completion"


def test_a_body_over_one_megabyte_gets_a_413_error_object_and_is_not_read(monkeypatch):
    def never(raw):
        raise AssertionError("an oversized body was parsed")

    monkeypatch.setattr(demo_model, "parse_request", never)
    body = b'{"messages": [{"role": "user", "content": "' + b"x" * (1024 * 1024) + b'"}]}'

    response = Client().post(URL, body, content_type="application/json")

    assert response.status_code == 413
    assert response.json() == {
        "error": {
            "message": "The request body is 1.0 MB; the demo model accepts at most 1.0 MB.",
            "type": "invalid_request_error",
            "param": None,
            "code": "request_too_large",
        }
    }


@pytest.mark.asyncio
async def test_the_sdk_reads_the_413_as_an_api_error():
    transport = httpx2.ASGITransport(app=get_asgi_application())
    async with AsyncOpenAI(
        api_key="any",
        base_url="http://testserver/demo-model/v1",
        http_client=httpx2.AsyncClient(transport=transport),
        max_retries=0,
    ) as client:
        with pytest.raises(APIStatusError) as raised:
            await client.chat.completions.create(
                model="m", messages=[{"role": "user", "content": "x" * (1024 * 1024)}]
            )
    assert raised.value.status_code == 413
    assert raised.value.body["code"] == "request_too_large"
