"""conversations.provider against a real (scripted) OpenAI-compatible server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import json
import pickle
import socket
from collections.abc import Iterator

import pytest

from conversations.provider import (
    AssistantTurn,
    Delta,
    ProviderConfig,
    ProviderError,
    complete,
    list_models,
)
from tests.support.openai_server import Reply, ScriptedOpenAI

WEATHER_CALLS = [
    {"id": "call_oslo", "name": "get_weather", "arguments": '{"city": "Oslo", "unit": "c"}'},
    {"id": "call_lima", "name": "get_weather", "arguments": '{"city": "Lima"}'},
    {"id": "call_time", "name": "get_time", "arguments": '{"tz": "Europe/Oslo", "fmt": "24h"}'},
]
ASK = {"messages": [{"role": "user", "content": "Weather in Oslo and Lima, and the time?"}]}


@pytest.fixture
def server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(models=("zeta-model", "alpha-model", "test-model")) as server:
        yield server


@pytest.fixture
def config(server: ScriptedOpenAI) -> ProviderConfig:
    return ProviderConfig(base_url=server.base_url, api_key="sk-test", model="test-model")


def without_timing(turn: AssistantTurn) -> AssistantTurn:
    return dataclasses.replace(turn, first_token_s=None, duration_s=0.0)


@pytest.mark.asyncio
async def test_text_streams_deltas_in_order(server, config):
    server.script(Reply(content="It is sunny in Oslo today."))
    seen: list[Delta] = []

    turn = await complete(config, ASK, on_delta=seen.append)

    assert turn.content == "It is sunny in Oslo today."
    assert turn.tool_calls == []
    assert turn.finish_reason == "stop"
    assert turn.problems == []
    assert [d.text for d in seen] == ["It", " is", " sunny", " in", " Oslo", " today."]
    assert {d.kind for d in seen} == {"text"}
    assert seen[-1].accumulated == "It is sunny in Oslo today."
    assert turn.first_token_s is not None
    assert 0 <= turn.first_token_s <= turn.duration_s
    assert turn.to_message() == {"role": "assistant", "content": "It is sunny in Oslo today."}
    body = server.requests[-1]["body"]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert body["model"] == "test-model"


@pytest.mark.asyncio
async def test_async_on_delta_is_awaited(server, config):
    server.script(Reply(content="one two"))
    seen: list[str] = []

    async def on_delta(delta: Delta) -> None:
        seen.append(delta.accumulated)

    await complete(config, ASK, on_delta=on_delta)

    assert seen == ["one", "one two"]


@pytest.mark.asyncio
async def test_parallel_tool_calls_streamed_interleaved_are_reassembled_by_index(server, config):
    server.script(Reply(tool_calls=WEATHER_CALLS, split_arguments=4))
    seen: list[Delta] = []

    turn = await complete(config, ASK, on_delta=seen.append)

    assert [(c.index, c.id, c.name, c.arguments) for c in turn.tool_calls] == [
        (i, call["id"], call["name"], call["arguments"]) for i, call in enumerate(WEATHER_CALLS)
    ]
    assert turn.finish_reason == "tool_calls"
    assert turn.content is None
    assert turn.problems == []
    # The fragments really arrived interleaved, and each delta carries its call's state so far.
    order = [d.index for d in seen]
    assert order[:6] == [0, 0, 1, 1, 2, 2]
    assert order != sorted(order)
    last_of = {d.index: d for d in seen}
    assert [last_of[i].accumulated for i in range(3)] == [c["arguments"] for c in WEATHER_CALLS]
    assert last_of[2].call_id == "call_time"
    assert last_of[2].call_name == "get_time"
    assert "".join(d.arguments for d in seen if d.index == 1) == WEATHER_CALLS[1]["arguments"]
    assert turn.to_message() == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": call["id"],
                "type": "function",
                "function": {"name": call["name"], "arguments": call["arguments"]},
            }
            for call in WEATHER_CALLS
        ],
    }


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "reply",
    [
        Reply(content="Just text."),
        Reply(content="Let me look.", tool_calls=WEATHER_CALLS),
        Reply(
            tool_calls=[{"name": "get_weather", "arguments": '{"city": '}], finish_reason="length"
        ),
        Reply(content="No usage", usage=None),
    ],
    ids=["text", "text-and-calls", "malformed", "no-usage"],
)
async def test_non_streamed_turn_equals_streamed_turn(server, config, reply):
    server.script(reply, dataclasses.replace(reply))

    streamed = await complete(config, ASK, stream=True)
    plain = await complete(config, ASK, stream=False)

    assert without_timing(plain) == without_timing(streamed)
    assert not server.requests[-1]["body"].get("stream")
    assert "stream_options" not in server.requests[-1]["body"]


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [True, False])
async def test_usage_is_captured(server, config, stream):
    usage = {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150}
    server.script(Reply(content="Hi", usage=usage))

    turn = await complete(config, ASK, stream=stream)

    assert turn.usage == usage


@pytest.mark.asyncio
async def test_request_fields_pass_through_exactly(server, config):
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_weather",
                "description": "Current weather",
                "parameters": {
                    "type": "object",
                    "properties": {"city": {"type": "string"}},
                    "required": ["city"],
                    "additionalProperties": False,
                },
                "strict": True,
            },
        }
    ]
    request = {
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Oslo?"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_1",
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": '{"city":"Oslo"}'},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_1", "content": '{"success": true}'},
        ],
        "tools": tools,
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": False,
        "temperature": 0.2,
        "top_k": 5,  # not an OpenAI parameter: compatible servers get it all the same
        "stream_options": {"include_obfuscation": False},
    }
    server.script(Reply(content="ok"), Reply(content="ok"))

    await complete(config, request)
    await complete(config, {**request, "model": "other-model"}, stream=False)

    streamed, plain = (entry["body"] for entry in server.requests)
    assert "stream_options" not in plain
    for body in (streamed, plain):
        for key, value in request.items():
            if key != "stream_options":
                assert body[key] == value, key
    assert streamed["stream_options"] == {"include_obfuscation": False, "include_usage": True}
    assert streamed["model"] == "test-model"
    assert plain["model"] == "other-model"
    assert request["messages"][2]["content"] is None  # the caller's request is not mutated


@pytest.mark.asyncio
async def test_extra_headers_are_sent_and_the_hosts_openai_env_is_not(server, monkeypatch):
    monkeypatch.setenv("OPENAI_ORG_ID", "org-host")
    monkeypatch.setenv("OPENAI_PROJECT_ID", "proj-host")
    config = ProviderConfig(
        base_url=server.base_url, api_key="sk-test", model="m", extra_headers={"x-team": "acme"}
    )
    server.script(Reply(content="ok"))

    await complete(config, ASK)

    headers = server.requests[-1]["headers"]
    assert headers["x-team"] == "acme"
    assert headers["authorization"] == "Bearer sk-test"
    assert "openai-organization" not in headers
    assert "openai-project" not in headers


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [True, False])
async def test_malformed_arguments_are_kept_verbatim(server, config, stream):
    broken = '{"city": "Oslo", "unit": '
    server.script(Reply(tool_calls=[{"id": "call_1", "name": "get_weather", "arguments": broken}]))

    turn = await complete(config, ASK, stream=stream)

    assert turn.tool_calls[0].arguments == broken
    assert turn.problems == []  # judging arguments is the engine's job (INVALID_JSON)


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [True, False])
async def test_missing_id_gets_a_generated_id_and_a_problem(server, config, stream):
    calls = [
        {"id": "call_a", "name": "get_weather", "arguments": "{}"},
        {"name": "get_time", "arguments": "{}"},
    ]
    server.script(Reply(tool_calls=calls))

    turn = await complete(config, ASK, stream=stream)

    assert [c.id for c in turn.tool_calls] == ["call_a", "call_missing_1"]
    assert turn.problems == ["missing id: tool call 1 had no id; it is now call_missing_1"]
    assert turn.to_message()["tool_calls"][1]["id"] == "call_missing_1"


@pytest.mark.asyncio
async def test_missing_name_is_a_problem(server, config):
    server.script(Reply(tool_calls=[{"id": "call_a", "arguments": "{}"}]))

    turn = await complete(config, ASK)

    assert turn.tool_calls[0].name == ""
    assert turn.problems == ["missing name: tool call 0 (call_a) has no name"]


@pytest.mark.asyncio
async def test_finish_reason_length_is_a_problem(server, config):
    server.script(Reply(content="The weather in Os", finish_reason="length"))

    turn = await complete(config, ASK)

    assert turn.finish_reason == "length"
    assert len(turn.problems) == 1
    assert turn.problems[0].startswith("length:")


@pytest.mark.asyncio
async def test_dropped_stream_is_malformed_with_the_partial_turn(server, config):
    server.script(Reply(content="one two three four", tool_calls=WEATHER_CALLS, close_early=True))
    seen: list[Delta] = []

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK, on_delta=seen.append)

    error = caught.value
    assert error.kind == "malformed"
    assert "truncated" in error.message
    assert error.partial is not None
    assert error.partial.finish_reason is None
    assert error.partial.content is not None
    assert "one two three four".startswith(error.partial.content)
    assert error.partial.problems[-1].startswith("truncated:")
    assert seen  # the UI saw what arrived before the line went dead


@pytest.mark.asyncio
async def test_stream_without_finish_reason_is_malformed(server, config):
    chunk = {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "test-model",
        "choices": [{"index": 0, "delta": {"content": "Half an ans"}, "finish_reason": None}],
    }
    server.script(Reply(raw_body=f"data: {json.dumps(chunk)}\n\ndata: [DONE]\n\n".encode()))

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK)

    assert caught.value.kind == "malformed"
    assert caught.value.partial is not None
    assert caught.value.partial.content == "Half an ans"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("stream", "raw_body"),
    [
        (False, b'{"id": "chatcmpl-1", "choices": [{"message": '),
        (False, b'{"id": "chatcmpl-1", "object": "chat.completion"}'),
        (True, b'data: {"id": "chatcmpl-1", "choices": [\n\n'),
        (True, b'data: {"id": "x", "choices": 7}\n\n'),
    ],
    ids=["broken-json", "no-choices", "broken-chunk", "odd-shape-chunk"],
)
async def test_broken_answers_are_malformed(server, config, stream, raw_body):
    server.script(Reply(raw_body=raw_body))

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK, stream=stream)

    assert caught.value.kind == "malformed"


@pytest.mark.asyncio
async def test_wrong_key_is_auth_and_never_leaks_the_key(server):
    secret = "sk-live-THIS-MUST-NOT-LEAK-0123456789"
    config = ProviderConfig(base_url=server.base_url, api_key=secret, model="test-model")

    for stream in (True, False):
        with pytest.raises(ProviderError) as caught:
            await complete(config, ASK, stream=stream)
        error = caught.value
        assert error.kind == "auth"
        assert error.status == 401
        assert "Incorrect API key" in error.message
        for text in (error.message, str(error), repr(error), repr(config)):
            assert secret not in text
        assert error.__cause__ is None
        assert error.__suppress_context__

    assert server.requests[-1]["headers"]["authorization"] == f"Bearer {secret}"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [({"retry-after": "2"}, 2.0), ({"retry-after-ms": "1500"}, 1.5), ({}, None)],
)
async def test_rate_limited_carries_retry_after(server, config, headers, retry_after):
    server.script(Reply(status=429, content="Rate limit reached for requests", headers=headers))

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK)

    assert caught.value.kind == "rate_limited"
    assert caught.value.status == 429
    assert caught.value.retry_after == retry_after
    assert "Rate limit reached" in caught.value.message


def test_provider_error_survives_pickling():
    partial = AssistantTurn(content="half", problems=["truncated: ..."])
    error = ProviderError("rate_limited", "slow down", status=429, retry_after=2.0, partial=partial)

    copy = pickle.loads(pickle.dumps(error))

    assert (copy.kind, copy.message, copy.status, copy.retry_after) == (
        "rate_limited",
        "slow down",
        429,
        2.0,
    )
    assert copy.partial == partial


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (500, "server"),
        (503, "server"),
        (400, "bad_request"),
        (422, "bad_request"),
        (404, "not_found"),
        (403, "auth"),
    ],
)
async def test_statuses_map_to_kinds(server, config, status, kind):
    server.script(Reply(status=status, content="scripted trouble"))

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK)

    assert (caught.value.kind, caught.value.status) == (kind, status)
    assert caught.value.message == f"The provider answered {status}: scripted trouble"
    assert caught.value.retry_after is None


@pytest.mark.asyncio
async def test_refused_connection_is_connection():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = ProviderConfig(base_url=f"http://127.0.0.1:{port}/v1", api_key="sk-test", model="m")

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK)

    assert caught.value.kind == "connection"
    assert caught.value.status is None
    assert f"127.0.0.1:{port}" in caught.value.message


@pytest.mark.asyncio
@pytest.mark.parametrize("stream", [True, False])
async def test_slow_provider_is_timeout(server, stream):
    config = ProviderConfig(base_url=server.base_url, api_key="sk-test", model="m", timeout_s=0.3)
    server.script(Reply(content="too late", delay_s=3))

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK, stream=stream)

    assert caught.value.kind == "timeout"
    assert "0.3 s" in caught.value.message


@pytest.mark.asyncio
async def test_stall_mid_stream_is_timeout_with_the_partial_turn(server):
    config = ProviderConfig(base_url=server.base_url, api_key="sk-test", model="m", timeout_s=0.3)
    server.script(Reply(content="slow and steady", chunk_delay_s=3))

    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK)

    assert caught.value.kind == "timeout"
    assert caught.value.partial is not None


@pytest.mark.asyncio
async def test_list_models_is_sorted(server, config):
    assert await list_models(config) == ["alpha-model", "test-model", "zeta-model"]


@pytest.mark.asyncio
async def test_list_models_with_a_wrong_key_is_auth(server):
    config = ProviderConfig(base_url=server.base_url, api_key="sk-wrong-key-123", model="m")

    with pytest.raises(ProviderError) as caught:
        await list_models(config)

    assert caught.value.kind == "auth"
    assert "sk-wrong-key-123" not in caught.value.message


@pytest.mark.asyncio
async def test_keyless_local_server(server):
    server.api_key = None
    server.script(Reply(content="hello"))
    config = ProviderConfig(base_url=server.base_url, api_key="", model="llama")

    turn = await complete(config, ASK)

    assert turn.content == "hello"


@pytest.mark.asyncio
async def test_an_endpoint_that_refuses_stream_options_is_asked_again_without_them(server, config):
    server.script(
        Reply(status=400, content="Unrecognized request argument supplied: stream_options"),
        Reply(content="Hello without usage.", usage=None),
    )
    turn = await complete(config, ASK)
    assert turn.content == "Hello without usage."
    first, second = (r["body"] for r in server.requests)
    assert first["stream_options"] == {"include_usage": True}
    assert "stream_options" not in second and second["stream"] is True


@pytest.mark.asyncio
async def test_other_bad_requests_are_not_retried(server, config):
    server.script(Reply(status=400, content="messages must not be empty"))
    with pytest.raises(ProviderError) as caught:
        await complete(config, ASK)
    assert caught.value.kind == "bad_request"
    assert len(server.requests) == 1
