"""What an app does through the recording proxy, for tests: the real `openai` SDK, pointed at
the proxy in-process (or at a live server's base URL), running a small tool-calling loop whose
tools the "app" runs itself."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import httpx2
from openai import AsyncOpenAI, OpenAI

from conversations import proxy

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": name,
            "description": f"{name} for the app",
            "parameters": {"type": "object", "properties": {}},
        },
    }
    for name in ("get_weather", "get_time")
]
QUESTION = "Weather in Oslo and Lima, and the time?"
TEMPERATURES = {"Oslo": 3, "Lima": 19}


def app_tool(name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    """The app's own tools (the studio never runs them)."""
    if name == "get_weather":
        return {"city": arguments["city"], "temp_c": TEMPERATURES[arguments["city"]]}
    return {"time": "12:00", "tz": arguments.get("tz", "UTC")}


def sdk_for(token: str) -> AsyncOpenAI:
    """The SDK as an app configures it: only base URL and key differ (here in-process)."""
    transport = httpx2.ASGITransport(app=proxy.application)
    return AsyncOpenAI(
        api_key=token,
        base_url="http://studio.test/v1",
        http_client=httpx2.AsyncClient(transport=transport),
        max_retries=0,
    )


def _streamed_message(chunks: list[Any]) -> dict[str, Any]:
    content: list[str] = []
    calls: dict[int, dict[str, Any]] = {}
    for chunk in chunks:
        for choice in chunk.choices:
            delta = choice.delta
            content.append(delta.content or "")
            for part in delta.tool_calls or []:
                call = calls.setdefault(
                    part.index,
                    {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
                )
                call["id"] = part.id or call["id"]
                if part.function:
                    call["function"]["name"] += part.function.name or ""
                    call["function"]["arguments"] += part.function.arguments or ""
    message: dict[str, Any] = {"role": "assistant", "content": "".join(content) or None}
    if calls:
        message["tool_calls"] = [calls[index] for index in sorted(calls)]
    return message


def _tool_messages(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "role": "tool",
            "tool_call_id": call["id"],
            "content": json.dumps(
                app_tool(call["function"]["name"], json.loads(call["function"]["arguments"]))
            ),
        }
        for call in message.get("tool_calls") or []
    ]


async def run_agent_loop(client: AsyncOpenAI, *, stream: bool, rounds: int = 6) -> str:
    """Ask, run the tools the model calls, send their results back; the final answer."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": QUESTION}]
    for _ in range(rounds):
        request = dict(model="test-model", messages=messages, tools=TOOLS, stream=stream)
        if stream:
            response = await client.chat.completions.create(**request)
            message = _streamed_message([chunk async for chunk in response])
        else:
            completion = await client.chat.completions.create(**request)
            # as apps do: the SDK's message object, extra null fields included
            message = completion.choices[0].message.model_dump()
        messages.append(message)
        if not message.get("tool_calls"):
            return message["content"]
        messages.extend(_tool_messages(message))
    raise AssertionError("the loop did not end")


def run_agent_loop_sync(
    client: OpenAI, *, stream: bool, question: str = QUESTION, rounds: int = 6
) -> str:
    """The same loop with the synchronous SDK (against a live server)."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": question}]
    for _ in range(rounds):
        request = dict(model="test-model", messages=messages, tools=TOOLS, stream=stream)
        if stream:
            message = _streamed_message(list(client.chat.completions.create(**request)))
        else:
            completion = client.chat.completions.create(**request)
            message = completion.choices[0].message.model_dump()
        messages.append(message)
        if not message.get("tool_calls"):
            return message["content"]
        messages.extend(_tool_messages(message))
    raise AssertionError("the loop did not end")


def recorded_soon(check: Callable[[], bool], within_s: float = 30.0) -> None:
    """Wait (as a person at a page would) until a live server's proxy has recorded what
    `check` looks for: it records after answering, so the app may be faster than the record."""
    deadline = time.monotonic() + within_s
    while not check():
        if time.monotonic() > deadline:
            from conversations.models import ModelCall

            recorded = list(
                ModelCall.objects.values_list("conversation__api_token__name", "ok", "error_kind")
            )
            raise AssertionError(
                f"the live proxy did not record the exchange; there are {recorded}"
            )
        time.sleep(0.05)


def live_sdk(base_url: str, token: str) -> OpenAI:
    """The SDK as an app configures it against a live studio: base URL and key, nothing else."""
    return OpenAI(base_url=f"{base_url}/v1", api_key=token, max_retries=0)
