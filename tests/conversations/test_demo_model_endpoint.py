"""The demo model's endpoint, read by the real `openai` SDK (over Django's ASGI app) and by
Django's test client: plain and streamed answers, the model list, OpenAI-style errors, no login
and no CSRF token needed."""

from __future__ import annotations

import json

import httpx2
import pytest
from django.core.asgi import get_asgi_application
from django.test import AsyncClient, Client
from openai import AsyncOpenAI, BadRequestError

from conversations import demo_model
from fcstudio.management.commands.load_demo import DEMO_TOOLS

BASE = "/demo-model/v1"
TOOLS = [
    {"type": "function", "function": {k: spec[k] for k in ("name", "description", "parameters")}}
    for spec in DEMO_TOOLS
]
ASK = [{"role": "user", "content": "Weather in Oslo and Lima?"}]


def sdk() -> AsyncOpenAI:
    transport = httpx2.ASGITransport(app=get_asgi_application())
    return AsyncOpenAI(
        api_key="any-key-at-all",
        base_url=f"http://testserver{BASE}",
        http_client=httpx2.AsyncClient(transport=transport),
        max_retries=0,
    )


@pytest.mark.asyncio
async def test_the_sdk_parses_parallel_tool_calls_from_a_plain_answer():
    async with sdk() as client:
        completion = await client.chat.completions.create(
            model="whatever", messages=ASK, tools=TOOLS, parallel_tool_calls=True
        )
    assert completion.model == demo_model.MODEL_ID
    choice = completion.choices[0]
    assert choice.finish_reason == "tool_calls" and choice.message.content is None
    assert [
        (c.id, c.function.name, json.loads(c.function.arguments)) for c in choice.message.tool_calls
    ] == [
        ("call_demo_0_0", "get_weather", {"city": "Oslo"}),
        ("call_demo_0_1", "get_weather", {"city": "Lima"}),
    ]
    assert completion.usage.total_tokens > 0


@pytest.mark.asyncio
async def test_the_sdk_reads_the_stream_as_openai_sends_it():
    async with sdk() as client:
        stream = await client.chat.completions.create(
            model=demo_model.MODEL_ID,
            messages=ASK,
            tools=TOOLS,
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = [chunk async for chunk in stream]

    assert chunks[0].choices[0].delta.role == "assistant"
    fragments = [
        call
        for chunk in chunks
        if chunk.choices
        for call in chunk.choices[0].delta.tool_calls or []
    ]
    firsts = [f for f in fragments if f.id]
    assert [(f.index, f.id, f.function.name, f.function.arguments) for f in firsts] == [
        (0, "call_demo_0_0", "get_weather", ""),
        (1, "call_demo_0_1", "get_weather", ""),
    ]
    assert all(f.function.name is None for f in fragments if not f.id)
    arguments = {0: "", 1: ""}
    for fragment in fragments:
        arguments[fragment.index] += fragment.function.arguments
    assert [json.loads(text) for text in arguments.values()] == [{"city": "Oslo"}, {"city": "Lima"}]
    assert len(fragments) > len(firsts) * 2  # arguments arrive in several pieces
    finish = [c.choices[0].finish_reason for c in chunks if c.choices]
    assert finish[-1] == "tool_calls" and set(finish[:-1]) == {None}
    assert chunks[-1].choices == [] and chunks[-1].usage.total_tokens > 0
    assert all(c.usage is None for c in chunks[:-1])


@pytest.mark.asyncio
async def test_the_sdk_lists_the_demo_model_and_gets_openai_errors():
    async with sdk() as client:
        models = [model.id async for model in client.models.list()]
        with pytest.raises(BadRequestError) as raised:
            await client.chat.completions.create(
                model="m",
                messages=ASK,
                tools=TOOLS,
                tool_choice={"type": "function", "function": {"name": "nope"}},
            )
    assert models == [demo_model.MODEL_ID]
    assert raised.value.status_code == 400
    assert raised.value.body["param"] == "tool_choice"


@pytest.mark.asyncio
async def test_the_stream_ends_with_done_and_needs_no_login_nor_csrf():
    client = AsyncClient(enforce_csrf_checks=True)
    body = {"model": "m", "messages": ASK, "tools": TOOLS, "stream": True}
    response = await client.post(
        f"{BASE}/chat/completions",
        json.dumps(body),
        content_type="application/json",
        headers={"Authorization": "Bearer sk-anything"},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    text = b"".join([piece async for piece in response.streaming_content]).decode()
    events = [line for line in text.split("\n\n") if line]
    assert all(event.startswith("data: ") for event in events)
    assert events[-1] == "data: [DONE]"
    assert "usage" not in json.loads(events[-2][len("data: ") :])  # not asked for


def test_a_plain_answer_after_tool_results_is_text():
    history = [
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": '{"city": "Oslo"}'},
                }
            ],
        },
        {
            "role": "tool",
            "tool_call_id": "c1",
            "content": '{"success": true, "result": {"temperature": 21}}',
        },
    ]
    response = Client().post(
        f"{BASE}/chat/completions",
        {"model": "m", "messages": history, "tools": TOOLS, "parallel_tool_calls": False},
        content_type="application/json",
    )
    message = response.json()["choices"][0]["message"]
    assert message["content"].startswith(demo_model.LABEL)
    assert (
        'get_weather({"city": "Oslo"}) returned {"success": true, "result": {"temperature": 21}}.'
        in message["content"]
    )


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("post", "chat/completions", b"{not json", 400),
        ("post", "chat/completions", b'{"messages": [{"role": "wizard"}]}', 400),
        ("post", "chat/completions", b'"\\ud800"', 400),
        ("get", "chat/completions", b"", 405),
        ("post", "models", b"{}", 405),
    ],
)
def test_bad_requests_get_openai_error_objects(method, path, body, status):
    client = Client(enforce_csrf_checks=True)
    response = getattr(client, method)(f"{BASE}/{path}", body, content_type="application/json")
    assert response.status_code == status
    assert set(response.json()["error"]) == {"message", "type", "param", "code"}
